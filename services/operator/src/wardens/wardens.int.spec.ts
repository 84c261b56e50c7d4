import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import { CIRCUIT_KEYS, PORT_KEYS, REDIS_OUTPUT_BUFFER_LIMIT_BYTES, vmAclUser } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import {
  connectAsVm,
  eventually,
  keepAlive,
  OperatorApi,
  type OperatorUnderTest,
  readInbox,
  startOperator,
  type TestVm,
  uniqueId,
} from '../testing/operator-harness';
import type { WardenCounts } from './wardens.repository';

/** One RESP command, as a client puts it on the wire. */
function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/**
 * The operator's wardens on a real Redis, against VMs that ignore the protocol with nothing but their own
 * credentials (issue 10): both ends of a circuit hostile, many Redis connections, a pipelined read never read back.
 */
describe('the wardens on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let operator: OperatorUnderTest;
  let api: OperatorApi;
  const opened: Redis[] = [];

  before(
    async () => {
      redis = await startTestRedis({ maxMemory: '1gb' });
      admin = new Redis(redis.url);
      operator = await startOperator(redis.url, { WARDEN_INTERVAL_MS: '500', VM_REDIS_CONNECTIONS: '8' });
      api = new OperatorApi(operator.url);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    for (const connection of opened) connection.disconnect();
    await operator?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  async function wardenOf(vm: TestVm): Promise<WardenCounts> {
    const reply = await api.call<{ warden: WardenCounts }>('GET', '/circuits', { token: vm.credentials.token });
    assert.equal(reply.status, 200);
    return reply.body.warden;
  }

  async function connectionsOf(vm: TestVm): Promise<number> {
    const list = String(await admin.call('CLIENT', 'LIST'));
    return list.split('\n').filter((line) => line.includes(` user=${vmAclUser(vm.id)} `)).length;
  }

  async function hostileCircuit(capacity: { entries: number; bytes: number }) {
    const tenant = uniqueId('tenant-both-ends');
    const [a, b] = [await api.register(uniqueId('vm-a'), tenant), await api.register(uniqueId('vm-b'), tenant)];
    const service = uniqueId('svc');
    await api.listen(b, service);
    const circuit = await api.connect(a, service, { capacity });
    const writer = connectAsVm(redis.anonymousUrl, a);
    opened.push(writer);
    return { a, b, circuit, writer, ring: CIRCUIT_KEYS.ring(circuit.id, 'a2b') };
  }

  it('resets a circuit whose ring one attacker holding both ends fills past its entries, within two ticks, and frees it', async () => {
    const { a, b, circuit, writer, ring } = await hostileCircuit({ entries: 16, bytes: 65_536 });
    const pump = keepAlive(api, [a, b]);
    try {
      // The writer ignores its credit and b never reads: 2000 entries into a ring of 16.
      const pipeline = writer.pipeline();
      for (let i = 0; i < 2000; i++) pipeline.xadd(ring, '*', 'k', 'd', 'p', 'x'.repeat(16));
      const written = (await pipeline.exec()) ?? [];
      assert.ok(
        written.every(([error]) => error === null),
        'the VM may XADD to its ring',
      );
      const startedAt = Date.now();
      await eventually('the ring warden to reset the circuit', 5000, async () =>
        (await admin.exists(ring)) === 0 ? true : undefined,
      );
      // One tick (500 ms) plus a pass: well within two ticks and the test's slack.
      assert.ok(Date.now() - startedAt < 2500, `reset after ${Date.now() - startedAt} ms`);
      for (const vm of [a, b]) {
        const warden = await wardenOf(vm);
        assert.equal(warden.ringResets, 1, vm.id);
        assert.match(
          warden.lastReason ?? '',
          /ring warden: ring a2b of circuit .* holds \d+ entries, over its capacity of 16/,
        );
        const closed = (await readInbox(admin, vm.id)).find((m) => m.message['type'] === 'circuit.closed');
        assert.match(String(closed?.message['reason']), /ring warden:/, `${vm.id} is told why`);
      }
      assert.deepEqual(await api.circuitsOf(a), []);
      assert.equal(await admin.exists(CIRCUIT_KEYS.control(circuit.id)), 0);
    } finally {
      pump.stop();
    }
  });

  it('resets a circuit whose ring holds more bytes than its capacity, in few entries', async () => {
    const { a, b, writer, ring } = await hostileCircuit({ entries: 16, bytes: 65_536 });
    const pump = keepAlive(api, [a, b]);
    try {
      // 8 entries (within the entry capacity) of 4 fields of 256 KiB: 8 MiB in a ring of 64 KiB.
      const field = 'y'.repeat(256 * 1024);
      for (let i = 0; i < 8; i++) await writer.xadd(ring, '*', 'f1', field, 'f2', field, 'f3', field, 'f4', field);
      assert.ok(Number(await admin.call('MEMORY', 'USAGE', ring)) > 8 * 1024 * 1024);
      await eventually('the ring warden to reset the circuit', 5000, async () =>
        (await admin.exists(ring)) === 0 ? true : undefined,
      );
      assert.match(
        (await wardenOf(a)).lastReason ?? '',
        /ring warden: .* takes \d+ bytes of Redis memory, over the \d+/,
      );
    } finally {
      pump.stop();
    }
  });

  it('leaves an honest ring at its capacity alone', async () => {
    const { a, b, circuit, writer, ring } = await hostileCircuit({ entries: 16, bytes: 65_536 });
    const pump = keepAlive(api, [a, b]);
    try {
      // 16 entries of 4 KiB: exactly the capacity (entries and bytes), as an honest writer may leave it unread.
      for (let i = 0; i < 16; i++) await writer.xadd(ring, '*', 'k', 'd', 'p', 'z'.repeat(4096));
      // A hostile ring beside it, reset by the warden: the same pass looked at the honest ring and let it be.
      const hostile = await hostileCircuit({ entries: 16, bytes: 65_536 });
      const also = keepAlive(api, [hostile.a, hostile.b]);
      try {
        const pipeline = hostile.writer.pipeline();
        for (let i = 0; i < 100; i++) pipeline.xadd(hostile.ring, '*', 'k', 'd');
        await pipeline.exec();
        await eventually('the ring warden to reset the hostile circuit', 5000, async () =>
          (await admin.exists(hostile.ring)) === 0 ? true : undefined,
        );
      } finally {
        also.stop();
      }
      assert.equal(await admin.xlen(ring), 16);
      assert.equal((await wardenOf(a)).ringResets, 0);
      assert.equal((await api.circuitsOf(a)).length, 1, circuit.id);
    } finally {
      pump.stop();
    }
  });

  it("closes a VM user's connections over its cap (8) within a bounded time, counting them", async () => {
    const vm = await api.register(uniqueId('vm-many'), uniqueId('tenant-many'));
    const pump = keepAlive(api, [vm]);
    try {
      const connections = Array.from({ length: 50 }, () => connectAsVm(redis.anonymousUrl, vm));
      opened.push(...connections);
      await Promise.all(connections.map((connection) => connection.ping()));
      const startedAt = Date.now();
      await eventually('the VM to hold at most 8 connections', 5000, async () =>
        (await connectionsOf(vm)) <= 8 ? true : undefined,
      );
      assert.ok(Date.now() - startedAt < 2500, `capped after ${Date.now() - startedAt} ms`);
      // The oldest are kept.
      assert.equal(await connections[0]?.ping(), 'PONG');
      const warden = await wardenOf(vm);
      assert.ok(warden.connectionsClosed >= 42, `closed ${warden.connectionsClosed}`);
      assert.match(warden.lastReason ?? '', /connection warden: VM .* had \d+ Redis connections, over its cap of 8/);
    } finally {
      pump.stop();
    }
  });

  it("closes a VM's connection whose pipelined reads it never reads back, at the output limit; others go on", async () => {
    const vm = await api.register(uniqueId('vm-reader'), uniqueId('tenant-reader'));
    const pump = keepAlive(api, [vm]);
    let socket: Socket | undefined;
    try {
      // rx holds 64 entries of 100 KiB (the switch would write it; here the admin): each XREAD answers 6.4 MB.
      const rx = PORT_KEYS.rx(vm.id);
      for (let i = 0; i < 64; i++) await admin.xadd(rx, '*', 'frame', 'r'.repeat(100 * 1024));
      const bystander = connectAsVm(redis.anonymousUrl, vm);
      opened.push(bystander);
      await bystander.ping();
      const baseline = Number((await admin.info('memory')).match(/used_memory:(\d+)/)?.[1]);

      const hostile = connect(Number(new URL(redis.anonymousUrl).port), '127.0.0.1');
      socket = hostile;
      hostile.on('error', () => undefined);
      await new Promise<void>((resolve) => hostile.once('connect', resolve));
      hostile.pause(); // never reads what Redis answers
      hostile.write(resp('AUTH', vm.credentials.redisUsername, vm.credentials.redisPassword));
      hostile.write(resp('CLIENT', 'SETNAME', 'hostile-reader'));
      // 200 reads of 6.4 MB: 1.3 GB of replies if Redis kept them.
      hostile.write(resp('XREAD', 'COUNT', '1000', 'STREAMS', rx, '0').repeat(200));

      await eventually('Redis to close the hostile connection', 10_000, async () =>
        String(await admin.call('CLIENT', 'LIST')).includes('name=hostile-reader') ? undefined : true,
      );
      const stats = await admin.info('stats');
      const disconnections = Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(stats)?.[1] ?? '-1');
      assert.ok(disconnections >= 1 || disconnections === -1, stats);
      const used = Number((await admin.info('memory')).match(/used_memory:(\d+)/)?.[1]);
      assert.ok(
        used - baseline < 2 * REDIS_OUTPUT_BUFFER_LIMIT_BYTES,
        `Redis grew by ${used - baseline} bytes, over twice the output limit`,
      );
      // The VM's other connection, and everybody else, are untouched.
      assert.equal(await bystander.ping(), 'PONG');
      assert.equal(await admin.xlen(rx), 64);
    } finally {
      socket?.destroy();
      pump.stop();
    }
  });
});
