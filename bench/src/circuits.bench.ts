import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startTestRedis } from '@tenantlab/lab';
import { DEFAULT_RING_CAPACITY } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { type BenchCircuit, datagramThroughput, openBenchCircuit } from './bench-circuit';
import { publishReport, quantile } from './bench-report';

const THROUGHPUT_MESSAGES = 200_000;
const LATENCY_SAMPLES = 5_000;
const LATENCY_WARMUP = 500;
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
  try {
    const suffix = randomUUID().slice(0, 8);
    // One circuit at a time: each new one re-grants the two VM users that circuit only, as the operator would.
    const onCircuit = async <T>(measure: (circuit: BenchCircuit) => Promise<T>): Promise<T> => {
      const circuit = await openBenchCircuit(redis, admin, `bench-a-${suffix}`, `bench-b-${suffix}`);
      try {
        return await measure(circuit);
      } finally {
        await circuit.close();
      }
    };

    console.log('==> baseline: pipelined XADD from one client');
    const xadd1k = await pipelinedXadd(admin, 1024);
    const xadd64 = await pipelinedXadd(admin, 64);
    console.log('==> circuit throughput, 1 KiB and 64 B datagrams');
    const circuit1k = await onCircuit((c) => datagramThroughput(c, randomBytes(1024), THROUGHPUT_MESSAGES));
    const circuit64 = await onCircuit((c) => datagramThroughput(c, randomBytes(64), THROUGHPUT_MESSAGES));
    console.log('==> circuit latency, 64 B ping-pong');
    const latency = await onCircuit((c) => pingPong(c, 64));

    await publishReport({
      name: 'circuits',
      goals: {
        // Issue 3 (seed 001): at least half a plain pipelined XADD's rate; one-way latency p50 < 150 µs, p99 < 1 ms.
        throughput_1k_vs_xadd: { atLeast: 0.5 },
        latency_64b_p50_us: { atMost: 150 },
        latency_64b_p99_us: { atMost: 1000 },
      },
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
    admin.disconnect();
    await redis.stop();
  }
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

/** One-way latency in µs: half of each round trip a -> b -> a, one message in flight at a time. */
async function pingPong({ a, b }: BenchCircuit, size: number): Promise<{ p50: number; p99: number }> {
  b.on('message', (data: Buffer) => void b.send(data));
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
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
