import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { TestRedis } from '@tenantlab/lab';
import {
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

/** Sends kept outstanding: enough to keep batches full, far below the ring capacity. */
const SEND_WINDOW = 2048;

/**
 * A datagram circuit between two VMs set up the way the operator does it (keys, one ACL user per VM with a grant on
 * this circuit only), each end connected as its VM's user. The data path is exactly a lab's; only the HTTP setup
 * is skipped, since it is not what the benchmarks measure.
 */
export async function openBenchCircuit(
  redis: TestRedis,
  admin: Redis,
  vmA: string,
  vmB: string,
): Promise<BenchCircuit> {
  const id = randomUUID();
  const capacity = DEFAULT_RING_CAPACITY;
  await queueCircuitKeysCreation(admin.multi(), { id, mode: 'datagram', capacity, vmA, vmB }).exec();
  const ends = [vmA, vmB].map((vm) => ({ vm, password: randomBytes(16).toString('hex') }));
  for (const { vm, password } of ends) {
    await admin.call('ACL', 'SETUSER', vmAclUser(vm), ...vmAclRules(vm, { password }, [id]));
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
    return new CircuitDatagramSocket(descriptor, {
      commands: base.commands,
      openBlocking: () => {
        const blocking = base.openBlocking();
        opened.push(blocking);
        return blocking;
      },
    });
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

/** Datagrams per second from a to b, from the first send to the last delivery. */
export async function datagramThroughput({ a, b }: BenchCircuit, payload: Buffer, count: number): Promise<number> {
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    b.on('error', reject);
    b.on('message', () => {
      if (++received === count) resolve();
    });
  });
  const started = performance.now();
  const window: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    window.push(a.send(payload));
    if (window.length === SEND_WINDOW) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await done;
  return count / ((performance.now() - started) / 1000);
}
