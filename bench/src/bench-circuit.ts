import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { TestRedis } from '@tenantlab/lab';
import {
  type CircuitBatchLimits,
  CircuitDatagramSocket,
  type CircuitDescriptor,
  DEFAULT_RING_CAPACITY,
  queueCircuitKeysCreation,
  vmAclRules,
  vmAclUser,
  vmCircuitConnections,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';

export interface BenchCircuit {
  a: CircuitDatagramSocket;
  b: CircuitDatagramSocket;
  /** Closes both ends (FIN) and every connection they opened. */
  close(): Promise<void>;
}

/** Sends kept outstanding by default: four full batches of the writer, far below the ring capacity. */
export const SEND_WINDOW = 2048;

/**
 * A datagram circuit between two VMs set up the way the operator does it (keys, one ACL user per VM with a grant on
 * this circuit only), each end connected as its VM's user. The data path is exactly a lab's; only the HTTP setup
 * is skipped, since it is not what the benchmarks measure. `limits` bounds both ends' entries per round trip (the
 * lab's default, 512, when left out).
 */
export async function openBenchCircuit(
  redis: TestRedis,
  admin: Redis,
  vmA: string,
  vmB: string,
  limits?: CircuitBatchLimits,
): Promise<BenchCircuit> {
  const id = randomUUID();
  const capacity = DEFAULT_RING_CAPACITY;
  await queueCircuitKeysCreation(admin.multi(), { id, mode: 'datagram', capacity, vmA, vmB }).exec();
  const ends = [vmA, vmB].map((vm) => ({ vm, password: randomBytes(16).toString('hex') }));
  for (const [i, { vm, password }] of ends.entries()) {
    await admin.call(
      'ACL',
      'SETUSER',
      vmAclUser(vm),
      ...vmAclRules(vm, { password }, [{ id, side: i === 0 ? 'a' : 'b' }]),
    );
  }
  const opened: Redis[] = [];
  const open = (side: 'a' | 'b'): CircuitDatagramSocket => {
    const [local, peer] = side === 'a' ? [ends[0], ends[1]] : [ends[1], ends[0]];
    const descriptor: CircuitDescriptor = {
      id,
      mode: 'datagram',
      side,
      service: 'bench',
      capacity,
      local: { vm: local.vm, tenant: 'bench' },
      peer: { vm: peer.vm, tenant: 'bench' },
    };
    const base = vmCircuitConnections(
      redis.anonymousUrl,
      { username: vmAclUser(local.vm), password: local.password },
      local.vm,
    );
    opened.push(base.commands);
    return new CircuitDatagramSocket(
      descriptor,
      {
        commands: base.commands,
        openBlocking: () => {
          const blocking = base.openBlocking();
          opened.push(blocking);
          return blocking;
        },
      },
      limits,
    );
  };
  const a = open('a');
  const b = open('b');
  return {
    a,
    b,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
      for (const client of opened) client.disconnect();
    },
  };
}

/**
 * Datagrams per second from a to b, from the first send to the last delivery. A sliding window: `window` sends are
 * kept outstanding (sent, not yet in Redis), and each one that completes makes room for the next. So the writer,
 * which has one round trip in flight at a time, finds the window's worth queued whenever its round trip returns (its
 * first round trip carries one datagram alone, every later one min(window, its batch limit)).
 */
export async function datagramThroughput(
  { a, b }: BenchCircuit,
  payload: Buffer,
  count: number,
  window = SEND_WINDOW,
): Promise<number> {
  let received = 0;
  let onMessage = (): void => undefined;
  let onError = (error: Error): void => void error;
  const done = new Promise<void>((resolve, reject) => {
    onMessage = () => {
      if (++received === count) resolve();
    };
    onError = reject;
    b.on('message', onMessage).on('error', onError);
  });
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let written = 0;
    const sendOne = (): void => {
      sent += 1;
      a.send(payload).then(() => {
        written += 1;
        if (sent < count) sendOne();
        else if (written === count) resolve();
      }, reject);
    };
    for (let i = 0; i < Math.min(window, count); i++) sendOne();
  });
  await done;
  // The circuit stays usable for the next transfer (a warm-up is followed by the measured run on the same circuit).
  b.off('message', onMessage).off('error', onError);
  return count / ((performance.now() - started) / 1000);
}
