import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  type CircuitConnections,
  CircuitDatagramSocket,
  type CircuitDescriptor,
  DEFAULT_RING_CAPACITY,
  queueCircuitKeysCreation,
  vmAclRules,
  vmAclUser,
  vmCircuitConnections,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { publishReport, quantile } from './bench-report';

const THROUGHPUT_MESSAGES = 200_000;
const LATENCY_SAMPLES = 5_000;
const LATENCY_WARMUP = 500;
/** Sends kept outstanding by the throughput sender: enough to keep batches full, far below the ring capacity. */
const SEND_WINDOW = 2048;
const XADD_PIPELINE = 512;

/**
 * Seed 001's experiment on this testbed: one VM sends to another over a circuit, each end a separate Redis ACL user
 * as tenant VMs are. Baseline in the same run: one client pipelining XADD to a stream on the same Redis, the most a
 * ring can take.
 */
export async function runCircuitsBenchmark(): Promise<void> {
  console.log('==> starting a private Redis');
  const redis = await startTestRedis();
  const admin = new Redis(redis.url);
  const clients: Redis[] = [];
  try {
    const vm = (id: string): { id: string; password: string } => ({ id, password: randomBytes(16).toString('hex') });
    const [a, b] = [vm(`bench-a-${randomUUID().slice(0, 8)}`), vm(`bench-b-${randomUUID().slice(0, 8)}`)];
    const circuit = async (): Promise<[CircuitDatagramSocket, CircuitDatagramSocket]> => {
      const id = randomUUID();
      await queueCircuitKeysCreation(admin.multi(), {
        id,
        mode: 'datagram',
        capacity: DEFAULT_RING_CAPACITY,
        vmA: a.id,
        vmB: b.id,
      }).exec();
      for (const endpoint of [a, b]) {
        await admin.call(
          'ACL',
          'SETUSER',
          vmAclUser(endpoint.id),
          ...vmAclRules(endpoint.id, { password: endpoint.password }, [id]),
        );
      }
      const descriptor = (side: 'a' | 'b'): CircuitDescriptor => ({
        id,
        mode: 'datagram',
        side,
        service: 'bench',
        capacity: DEFAULT_RING_CAPACITY,
        local: { vm: side === 'a' ? a.id : b.id, tenant: 'bench' },
        peer: { vm: side === 'a' ? b.id : a.id, tenant: 'bench' },
      });
      return [
        new CircuitDatagramSocket(descriptor('a'), vmConnections(redis, a, clients)),
        new CircuitDatagramSocket(descriptor('b'), vmConnections(redis, b, clients)),
      ];
    };

    console.log('==> baseline: pipelined XADD from one client');
    const xadd1k = await pipelinedXadd(admin, 1024);
    const xadd64 = await pipelinedXadd(admin, 64);
    console.log('==> circuit throughput, 1 KiB and 64 B datagrams');
    const circuit1k = await throughput(await circuit(), 1024);
    const circuit64 = await throughput(await circuit(), 64);
    console.log('==> circuit latency, 64 B ping-pong');
    const latency = await pingPong(await circuit(), 64);

    await publishReport({
      name: 'circuits',
      setup: {
        messages: THROUGHPUT_MESSAGES,
        latency_samples: LATENCY_SAMPLES,
        mode: 'datagram, both ends in one process, each its own Redis ACL user',
        ring_capacity: `${DEFAULT_RING_CAPACITY.entries} entries / ${DEFAULT_RING_CAPACITY.bytes} bytes`,
        baseline: `one client, XADD pipelined ${XADD_PIPELINE} at a time, same payload, same Redis`,
      },
      metrics: {
        throughput_1k_msgs_per_s: Math.round(circuit1k),
        throughput_1k_mb_per_s: round((circuit1k * 1024) / 1e6),
        throughput_64b_msgs_per_s: Math.round(circuit64),
        throughput_64b_mb_per_s: round((circuit64 * 64) / 1e6),
        latency_64b_p50_us: round(latency.p50),
        latency_64b_p99_us: round(latency.p99),
      },
      baseline: {
        xadd_pipelined_1k_msgs_per_s: Math.round(xadd1k),
        xadd_pipelined_64b_msgs_per_s: Math.round(xadd64),
      },
      ratios: {
        throughput_1k_vs_xadd: round(circuit1k / xadd1k),
        throughput_64b_vs_xadd: round(circuit64 / xadd64),
      },
    });
  } finally {
    for (const client of clients) client.disconnect();
    admin.disconnect();
    await redis.stop();
  }
}

function vmConnections(redis: TestRedis, vm: { id: string; password: string }, clients: Redis[]): CircuitConnections {
  const connections = vmCircuitConnections(
    redis.anonymousUrl,
    { username: vmAclUser(vm.id), password: vm.password },
    vm.id,
  );
  clients.push(connections.commands);
  return {
    commands: connections.commands,
    openBlocking: () => {
      const blocking = connections.openBlocking();
      clients.push(blocking);
      return blocking;
    },
  };
}

/** Messages per second one client can XADD to one stream, pipelining; the stream is trimmed between rounds. */
async function pipelinedXadd(redis: Redis, size: number): Promise<number> {
  const key = `bench:{xadd}:${randomUUID()}`;
  const payload = randomBytes(size);
  const started = performance.now();
  for (let sent = 0; sent < THROUGHPUT_MESSAGES; sent += XADD_PIPELINE) {
    const pipeline = redis.pipeline();
    for (let i = 0; i < XADD_PIPELINE; i++) pipeline.xadd(key, '*', 'k', 'd', 'p', payload);
    await pipeline.exec();
  }
  const seconds = (performance.now() - started) / 1000;
  await redis.del(key);
  return THROUGHPUT_MESSAGES / seconds;
}

/** Datagrams per second from a to b, from the first send to the last delivery. */
async function throughput([a, b]: [CircuitDatagramSocket, CircuitDatagramSocket], size: number): Promise<number> {
  const payload = randomBytes(size);
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    b.on('error', reject);
    b.on('message', () => {
      received += 1;
      if (received === THROUGHPUT_MESSAGES) resolve();
    });
  });
  const started = performance.now();
  const window: Promise<void>[] = [];
  for (let i = 0; i < THROUGHPUT_MESSAGES; i++) {
    window.push(a.send(payload));
    if (window.length === SEND_WINDOW) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await done;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all([a.close(), b.close()]);
  return THROUGHPUT_MESSAGES / seconds;
}

/** One-way latency in µs: half of each round trip a -> b -> a, one message in flight at a time. */
async function pingPong(
  [a, b]: [CircuitDatagramSocket, CircuitDatagramSocket],
  size: number,
): Promise<{ p50: number; p99: number }> {
  b.on('message', (data) => void b.send(data));
  const payload = randomBytes(size);
  const samples: number[] = [];
  let answered: (() => void) | undefined;
  a.on('message', () => answered?.());
  for (let i = 0; i < LATENCY_WARMUP + LATENCY_SAMPLES; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      answered = resolve;
      void a.send(payload);
    });
    if (i >= LATENCY_WARMUP) samples.push(((performance.now() - started) * 1000) / 2);
  }
  await Promise.all([a.close(), b.close()]);
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
