import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, seedVmRegistry, startTestRedis, type TestRedis } from '@tenantlab/lab';
import { type LinkedPipeline, PORT_KEYS, REDIS_KEYS, requestJson, validateProgram } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { eventually } from '../lab-process';
import { ServiceProcess } from '../service-process';
import { sendFrames, sequencedFrame } from './port-traffic';

const VMS = { 'vm-a1': 'tenant-a', 'vm-a2': 'tenant-a', 'vm-b1': 'tenant-b', 'vm-b2': 'tenant-b' } as const;
type Vm = keyof typeof VMS;

/** A program with real work per frame: three hashes and register updates (a count-min sketch without alerts). */
const SKETCH = {
  name: 'sketch',
  version: 1,
  metadata: [{ name: 'h', bits: 10 }],
  registers: [{ name: 'rows', width: 32, size: 1024 }],
  actions: [
    {
      name: 'count',
      ops: [
        { op: 'hash', algorithm: 'crc32', fields: ['ipv4.src', 'l4.sport'], bound: 1024, into: 'meta.h' },
        { op: 'register.add', register: 'rows', index: { field: 'meta.h' }, value: { const: 1 } },
        { op: 'hash', algorithm: 'crc16', fields: ['ipv4.src', 'l4.sport'], bound: 1024, into: 'meta.h' },
        { op: 'register.add', register: 'rows', index: { field: 'meta.h' }, value: { const: 1 } },
      ],
    },
  ],
  tables: [{ name: 'sketch', key: [], actions: ['count'], defaultAction: { action: 'count' }, size: 0 }],
  control: [{ table: 'sketch' }],
};

interface Dataplane {
  programs: { version: number };
  counters: { tenants: Record<string, { rxFrames: number; drops: Record<string, number> } | undefined> };
  waitingForCpu: Record<string, number>;
  cpuWeights: Record<string, number>;
  programCpuNs: Record<string, number>;
}

/**
 * A switch whose tenant programs get a tiny CPU budget: a tenant whose program is over its share waits (its frames
 * queue, unacknowledged, up to a bound) and then drops, counted; a tenant without a program is never held up by it.
 */
describe('CPU budgets of tenant programs on a real switch', () => {
  let redis: TestRedis;
  let admin: Redis;
  let sw: ServiceProcess;

  // 64 flows (source ports), so the program's sketch sees more than one.
  const send = (from: Vm, to: Vm, first: number, count: number): Promise<void> =>
    sendFrames(
      admin,
      from,
      Array.from({ length: count }, (_, i) =>
        sequencedFrame(from, to, first + i, { srcPort: 5000 + ((first + i) % 64), dstPort: 7 }),
      ),
    );
  const arrived = (vm: Vm): Promise<number> => admin.xlen(PORT_KEYS.rx(vm));
  const dataplane = async (): Promise<Dataplane> => (await requestJson<Dataplane>('GET', `${sw.url}/dataplane`)).body;

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    await seedVmRegistry(admin, VMS);
    // The pipeline as the allocator would link it: tenant A runs the sketch, tenant B runs nothing.
    const quota = {
      tables: 8,
      tableEntries: 4096,
      registerBits: 1 << 20,
      counters: 1024,
      actionOpsPerPacket: 32,
      headerBytes: 64,
    };
    const pipeline: LinkedPipeline = {
      version: 1,
      createdAt: new Date().toISOString(),
      tenants: {
        'tenant-a': {
          program: validateProgram(SKETCH, { tenant: 'tenant-a', vms: ['vm-a1', 'vm-a2'], quota }),
          pageTable: { rows: { stage: 0, offset: 0, amount: 1024 } },
        },
      },
    };
    await admin.set(REDIS_KEYS.pipelineCurrent, JSON.stringify(pipeline));
    sw = await (
      await ServiceProcess.create('switch', 'switch', {
        REDIS_URL: redis.url,
        KAFKA_BROKERS: `127.0.0.1:${await freeLoopbackPort()}`,
        PORT_SCAN_INTERVAL_MS: '100',
        TRACE_SAMPLING_RATE: '0',
        // About a millisecond of program time per second, a tenth of that as burst: a few hundred frames a second.
        PROGRAM_CPU_NS_PER_SECOND: '1000000',
        PROGRAM_CPU_BURST_NS: '100000',
      })
    ).start(30_000, '/health');
    await eventually('the program installed and four ports attached', 10_000, async () => {
      const state = (await requestJson<Dataplane & { ports: unknown[] }>('GET', `${sw.url}/dataplane`)).body;
      return state.programs.version === 1 && state.ports.length === 4 ? true : undefined;
    });
    // Both receivers announce themselves, so frames to them are unicast.
    await send('vm-a2', 'vm-a1', 0, 1);
    await send('vm-b2', 'vm-b1', 0, 1);
    await eventually('the announcements', 10_000, async () =>
      (await arrived('vm-a1')) === 1 && (await arrived('vm-b1')) === 1 ? true : undefined,
    );
  });

  after(async () => {
    await sw?.stop();
    admin?.disconnect();
    await redis?.stop();
  });

  it(
    'makes the over-budget tenant wait, not the other one, and loses none of the waiting frames',
    { timeout: 60_000 },
    async () => {
      await Promise.all([send('vm-a1', 'vm-a2', 1, 600), send('vm-b1', 'vm-b2', 1, 600)]);
      await eventually("all of tenant B's frames", 10_000, async () =>
        (await arrived('vm-b2')) === 600 ? true : undefined,
      );
      const aWhenBDone = await arrived('vm-a2');
      assert.ok(
        aWhenBDone < 600,
        `tenant A was held to its budget while B went through (${aWhenBDone} of 600 arrived)`,
      );
      await eventually("all of tenant A's frames, late", 45_000, async () =>
        (await arrived('vm-a2')) === 600 ? true : undefined,
      );
      const state = await dataplane();
      assert.equal(state.counters.tenants['tenant-a']?.drops['cpu-budget'] ?? 0, 0, 'nothing dropped');
      assert.ok(
        state.programCpuNs['tenant-a'] > 0,
        `the program time charged to A is shown (${state.programCpuNs['tenant-a']})`,
      );
      assert.equal(state.programCpuNs['tenant-b'], undefined, 'B runs no program: nothing is charged to it');
    },
  );

  it(
    'drops and counts what does not fit the wait queue, so every frame is delivered or counted',
    { timeout: 90_000 },
    async () => {
      const before = (await dataplane()).counters.tenants['tenant-a']?.rxFrames ?? 0;
      const delivered = await arrived('vm-a2');
      await send('vm-a1', 'vm-a2', 1000, 6000);
      const state = await eventually('some frames dropped for want of CPU', 30_000, async () => {
        const now = await dataplane();
        return (now.counters.tenants['tenant-a']?.drops['cpu-budget'] ?? 0) > 0 ? now : undefined;
      });
      assert.ok((state.waitingForCpu['tenant-a'] ?? 0) <= 4096, 'the wait queue stays bounded');
      await eventually('every frame delivered or counted', 60_000, async () => {
        const now = await dataplane();
        const tenant = now.counters.tenants['tenant-a'];
        const handled = (tenant?.rxFrames ?? 0) - before;
        const dropped = tenant?.drops['cpu-budget'] ?? 0;
        return handled === 6000 && (await arrived('vm-a2')) - delivered + dropped === 6000 ? true : undefined;
      });
    },
  );

  it('sets a tenant’s CPU weight over HTTP, and refuses weights that are not positive numbers', async () => {
    const put = (tenant: string, body: unknown) =>
      requestJson<{ error?: { code: string; details?: string[] }; weight?: number }>(
        'PUT',
        `${sw.url}/tenants/${tenant}/cpu-weight`,
        body,
      );
    for (const body of [{ weight: 0 }, { weight: -1 }, { weight: 'heavy' }, { weight: 1e9 }, {}]) {
      const refused = await put('tenant-a', body);
      assert.equal(refused.status, 400, `weight ${JSON.stringify(body)} refused`);
      assert.equal(refused.body.error?.code, 'VALIDATION_FAILED');
      assert.match(String(refused.body.error?.details), /weight/, 'the refusal says the weight is what is wrong');
    }
    assert.equal((await put('Bad_Tenant', { weight: 2 })).status, 400);
    const set = await put('tenant-a', { weight: 4 });
    assert.equal(set.status, 200);
    assert.equal(set.body.weight, 4);
    assert.deepEqual((await dataplane()).cpuWeights, { 'tenant-a': 4 });
  });
});
