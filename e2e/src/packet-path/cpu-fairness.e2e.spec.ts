import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, seedVmRegistry, startTestRedis } from '@tenantlab/lab';
import { type LinkedPipeline, REDIS_KEYS, validateProgram } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { eventually } from '../lab-process';
import { adminRequest, ServiceProcess } from '../service-process';
import { rxFrameCount, sendFrames, sequencedFrame } from './port-traffic';

/** `PUT /tenants/:tenant/cpu-weight` on the switch at `url`. */
const putCpuWeight = (url: string, tenant: string, body: unknown) =>
  adminRequest<{ error?: { code: string; details?: string[] }; weight?: number }>(
    'PUT',
    `${url}/tenants/${tenant}/cpu-weight`,
    body,
  );

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

/**
 * Fifteen hashes of the 4-tuple and the TTL, each counted: enough work per frame that a few thousand frames fill
 * seconds. The TTL is not a flow-key field, so every frame computes them; hashes of flow-key fields alone are computed
 * once per flow behind the flow cache (FlowHashes), and this test's one flow would then cost almost nothing a frame.
 */
const HEAVY = {
  ...SKETCH,
  name: 'heavy',
  actions: [
    {
      name: 'count',
      ops: Array.from({ length: 15 }, (_, i) => [
        {
          op: 'hash',
          algorithm: i % 2 === 0 ? 'crc32' : 'crc16',
          fields: ['ipv4.src', 'ipv4.dst', 'l4.sport', 'l4.dport', 'ipv4.ttl'],
          bound: 1024,
          into: 'meta.h',
        },
        { op: 'register.add', register: 'rows', index: { field: 'meta.h' }, value: { const: i + 1 } },
      ]).flat(),
    },
  ],
};

interface Dataplane {
  programs: { version: number };
  programCpuNs: Record<string, number>;
  counters: { tenants: Record<string, { rxFrames: number; drops: Record<string, number> } | undefined> };
  waitingForCpu: Record<string, number>;
  /** Per tenant, frames that had to wait for CPU since the switch started, each counted once. */
  waitedForCpu: Record<string, number>;
  cpuWeights: Record<string, number>;
}

interface BudgetedSwitch {
  readonly sw: ServiceProcess;
  send(from: Vm, to: Vm, first: number, count: number): Promise<void>;
  /** How many frames are in the VM's rx stream. */
  arrived(vm: Vm): Promise<number>;
  dataplane(): Promise<Dataplane>;
  stop(): Promise<void>;
}

/**
 * A real switch on a private Redis, with the sketch installed for `programTenants` as the allocator would link it,
 * a program CPU budget of `nsPerSecond` with `burstNs`, and both receivers announced (frames to them are unicast).
 */
async function startBudgetedSwitch(
  program: typeof SKETCH,
  programTenants: readonly ('tenant-a' | 'tenant-b')[],
  nsPerSecond: number,
  burstNs: number,
  /** PROGRAM_CPU_WAIT_FRAMES: the switch's default unless given. */
  waitFrames?: number,
): Promise<BudgetedSwitch> {
  const redis = await startTestRedis();
  const admin = new Redis(redis.url);
  let sw: ServiceProcess | undefined;
  const stop = async () => {
    await sw?.stop();
    admin.disconnect();
    await redis.stop();
  };
  try {
    await seedVmRegistry(admin, VMS);
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
      tenants: Object.fromEntries(
        programTenants.map((tenant, i) => [
          tenant,
          {
            program: validateProgram(program, {
              tenant,
              vms: Object.keys(VMS).filter((vm) => VMS[vm as Vm] === tenant),
              quota,
            }),
            pageTable: { rows: { stage: 0, offset: 1024 * i, amount: 1024 } },
          },
        ]),
      ),
    };
    await admin.set(REDIS_KEYS.pipelineCurrent, JSON.stringify(pipeline));
    const started = await (
      await ServiceProcess.create('switch', 'switch', {
        REDIS_URL: redis.url,
        KAFKA_BROKERS: `127.0.0.1:${await freeLoopbackPort()}`,
        PORT_SCAN_INTERVAL_MS: '100',
        TRACE_SAMPLING_RATE: '0',
        PROGRAM_CPU_NS_PER_SECOND: String(nsPerSecond),
        PROGRAM_CPU_BURST_NS: String(burstNs),
        ...(waitFrames === undefined ? {} : { PROGRAM_CPU_WAIT_FRAMES: String(waitFrames) }),
      })
    ).start(30_000, '/health');
    sw = started;
    const dataplane = async (): Promise<Dataplane> =>
      (await adminRequest<Dataplane>('GET', `${started.url}/dataplane`)).body;
    // 64 flows (source ports), so the program's sketch sees more than one.
    const send = (from: Vm, to: Vm, first: number, count: number): Promise<void> =>
      sendFrames(
        admin,
        from,
        Array.from({ length: count }, (_, i) =>
          sequencedFrame(from, to, first + i, { srcPort: 5000 + ((first + i) % 64), dstPort: 7 }),
        ),
      );
    const arrived = (vm: Vm): Promise<number> => rxFrameCount(admin, vm);
    await eventually('the programs installed and four ports attached', 10_000, async () => {
      const state = (await adminRequest<Dataplane & { ports: unknown[] }>('GET', `${started.url}/dataplane`)).body;
      return state.programs.version === 1 && state.ports.length === 4 ? true : undefined;
    });
    await send('vm-a2', 'vm-a1', 0, 1);
    await send('vm-b2', 'vm-b1', 0, 1);
    await eventually('the announcements', 10_000, async () =>
      (await arrived('vm-a1')) === 1 && (await arrived('vm-b1')) === 1 ? true : undefined,
    );
    return { sw: started, send, arrived, dataplane, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A switch whose tenant programs get a tiny CPU budget: a tenant whose program is over its share waits (its frames
 * queue, unacknowledged, up to a bound) and then drops, counted; a tenant without a program is never held up by it.
 */
describe('CPU budgets of tenant programs on a real switch', () => {
  let lab: BudgetedSwitch;
  const send = (from: Vm, to: Vm, first: number, count: number) => lab.send(from, to, first, count);
  const arrived = (vm: Vm) => lab.arrived(vm);
  const dataplane = () => lab.dataplane();

  before(async () => {
    // Tenant A runs the sketch, tenant B runs nothing. 50 ms of program time a second and 100 µs of burst: A's 600
    // frames want more than the burst on any machine (a frame costs µs at the least), so some must wait; and they
    // drain in seconds even where the first frame after the switch idled costs a millisecond (a host that runs other
    // machines on the core while this one idles: its caches and TLB come back cold), not 1 µs.
    lab = await startBudgetedSwitch(SKETCH, ['tenant-a'], 50_000_000, 100_000);
  });

  after(async () => {
    await lab?.stop();
  });

  it(
    'makes the over-budget tenant wait, not the other one, and loses none of the waiting frames',
    { timeout: 60_000 },
    async () => {
      await Promise.all([send('vm-a1', 'vm-a2', 1, 600), send('vm-b1', 'vm-b2', 1, 600)]);
      await eventually("all of tenant B's frames", 10_000, async () =>
        (await arrived('vm-b2')) === 600 ? true : undefined,
      );
      // Whether A is still behind B by then depends on the machine's speed, not on the budget: that A was held is
      // what the switch counts (frames of A that waited for CPU, below), that B was not, its count of none.
      let seen = '';
      await eventually("all of tenant A's frames, late", 45_000, async () => {
        const a = await arrived('vm-a2');
        const now = await dataplane();
        seen = `${a} of 600 arrived, ${now.waitingForCpu['tenant-a'] ?? 0} waiting, ${now.programCpuNs['tenant-a']} ns charged`;
        return a === 600 ? true : undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}; last seen: ${seen}`);
      });
      const state = await dataplane();
      assert.equal(state.counters.tenants['tenant-a']?.drops['cpu-budget'] ?? 0, 0, 'nothing dropped');
      assert.ok(
        state.programCpuNs['tenant-a'] > 0,
        `the program time charged to A is shown (${state.programCpuNs['tenant-a']})`,
      );
      assert.equal(state.programCpuNs['tenant-b'], undefined, 'B runs no program: nothing is charged to it');
      // A was held, so some of its frames waited; each is counted once however many rounds it waited, so no more
      // than the frames of A the switch read.
      const waited = state.waitedForCpu['tenant-a'] ?? 0;
      const read = state.counters.tenants['tenant-a']?.rxFrames ?? 0;
      assert.ok(waited >= 1 && waited <= read, `frames of A that waited for CPU: ${waited} (of ${read} read)`);
      assert.equal(state.waitedForCpu['tenant-b'] ?? 0, 0, 'none of B waited');
    },
  );

  it('refuses CPU weights that are not positive numbers', async () => {
    const put = (tenant: string, body: unknown) => putCpuWeight(lab.sw.url, tenant, body);
    for (const body of [{ weight: 0 }, { weight: -1 }, { weight: 'heavy' }, { weight: 1e9 }, {}]) {
      const refused = await put('tenant-a', body);
      assert.equal(refused.status, 400, `weight ${JSON.stringify(body)} refused`);
      assert.equal(refused.body.error?.code, 'VALIDATION_FAILED');
      assert.match(String(refused.body.error?.details), /weight/, 'the refusal says the weight is what is wrong');
    }
    assert.equal((await put('Bad_Tenant', { weight: 2 })).status, 400);
  });
});

/**
 * The wait queue's bound, on a switch whose bound is small (PROGRAM_CPU_WAIT_FRAMES 256) so that draining what waits
 * takes a second at the budget, not the tens of seconds 4096 frames would take on a loaded machine.
 */
describe('the CPU wait queue of a real switch, bounded by PROGRAM_CPU_WAIT_FRAMES', () => {
  const WAIT_FRAMES = 256;
  const SENT = 1500;
  let lab: BudgetedSwitch;

  before(async () => {
    lab = await startBudgetedSwitch(SKETCH, ['tenant-a'], 1_000_000, 100_000, WAIT_FRAMES);
  });

  after(async () => {
    await lab?.stop();
  });

  it('drops and counts what does not fit the wait queue, so every frame is delivered or counted', async () => {
    const initial = await lab.dataplane();
    const before = initial.counters.tenants['tenant-a']?.rxFrames ?? 0;
    const waitedBefore = initial.waitedForCpu['tenant-a'] ?? 0;
    const delivered = await lab.arrived('vm-a2');
    await lab.send('vm-a1', 'vm-a2', 1000, SENT);
    const state = await eventually('some frames dropped for want of CPU', 30_000, async () => {
      const now = await lab.dataplane();
      return (now.counters.tenants['tenant-a']?.drops['cpu-budget'] ?? 0) > 0 ? now : undefined;
    });
    assert.ok(
      (state.waitingForCpu['tenant-a'] ?? 0) <= WAIT_FRAMES,
      `the wait queue stays bounded (${state.waitingForCpu['tenant-a']} waiting)`,
    );
    // Settled once every frame sent was handled and nothing waits any more; the sums are compared after, so a
    // miscount fails naming the figures rather than waiting for them to match.
    let seen = '';
    const settled = await eventually('every frame handled and none waiting', 60_000, async () => {
      const now = await lab.dataplane();
      const tenant = now.counters.tenants['tenant-a'];
      const figures = {
        handled: (tenant?.rxFrames ?? 0) - before,
        arrived: (await lab.arrived('vm-a2')) - delivered,
        dropped: tenant?.drops['cpu-budget'] ?? 0,
        waiting: now.waitingForCpu['tenant-a'] ?? 0,
      };
      seen = JSON.stringify(figures);
      return figures.handled >= SENT && figures.waiting === 0 ? figures : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; last seen: ${seen}`);
    });
    assert.equal(settled.handled, SENT, `every frame handled once: ${seen}`);
    assert.equal(settled.arrived + settled.dropped, SENT, `every frame delivered or counted as cpu-budget: ${seen}`);
    // The queue was full when frames were dropped, so at least its bound of frames waited; a frame dropped at the
    // door never waited, and a waiting frame is counted once however many rounds it waits.
    const waited = ((await lab.dataplane()).waitedForCpu['tenant-a'] ?? 0) - waitedBefore;
    assert.ok(
      waited >= WAIT_FRAMES && waited <= SENT - settled.dropped,
      `frames that waited for CPU: ${waited}, between ${WAIT_FRAMES} and ${SENT - settled.dropped}: ${seen}`,
    );
  });
});

/**
 * Weights set through `PUT /tenants/:tenant/cpu-weight` decide how the program CPU budget splits between tenants that
 * both want more than it. A switch that ignored the weights would split it 1:1.
 */
describe('CPU weights on a real switch', () => {
  // Four milliseconds of program time a second, 300 µs of burst.
  const NS_PER_SECOND = 4_000_000;
  const BURST_NS = 300_000;
  /** How much program time A runs between the two snapshots: 6 s of its share. */
  const USED_A_NS = 18_000_000;
  /** Frames sent to a tenant whenever fewer than this many of its own are still to run: a backlog that lasts. */
  const TOP_UP = 1500;
  let lab: BudgetedSwitch;

  before(async () => {
    lab = await startBudgetedSwitch(HEAVY, ['tenant-a', 'tenant-b'], NS_PER_SECOND, BURST_NS);
  });

  after(async () => {
    await lab?.stop();
  });

  it(
    'splits program time 3:1 between two tenants over budget after PUT cpu-weight 3 for A, B keeping the default 1',
    { timeout: 90_000 },
    async (t) => {
      const set = await putCpuWeight(lab.sw.url, 'tenant-a', { weight: 3 });
      assert.equal(set.status, 200);
      assert.equal(set.body.weight, 3);
      const initial = await lab.dataplane();
      // B's weight was never set: the README's "weights are 1 unless set" is what makes the split 3:1.
      assert.deepEqual(initial.cpuWeights, { 'tenant-a': 3 });
      const senders = [
        { tenant: 'tenant-a', from: 'vm-a1', to: 'vm-a2' },
        { tenant: 'tenant-b', from: 'vm-b1', to: 'vm-b2' },
      ] as const;
      const sent = { 'tenant-a': 0, 'tenant-b': 0 };
      const readBefore = (tenant: string) => initial.counters.tenants[tenant]?.rxFrames ?? 0;
      // Each tenant's frames not yet run (unread by the switch, or waiting for CPU) stay between TOP_UP and twice it,
      // so both stay over budget however fast the machine runs them, and the waits fit the switch's wait queue (4096
      // a tenant): nothing is dropped, every frame waits its turn.
      const topUp = async (state: Dataplane): Promise<void> => {
        for (const { tenant, from, to } of senders) {
          const read = (state.counters.tenants[tenant]?.rxFrames ?? 0) - readBefore(tenant);
          const toRun = sent[tenant] - read + (state.waitingForCpu[tenant] ?? 0);
          if (toRun >= TOP_UP) continue;
          await lab.send(from, to, sent[tenant] + 1, TOP_UP);
          sent[tenant] += TOP_UP;
        }
      };
      await topUp(initial);
      const backlogged = (state: Dataplane) =>
        (state.waitingForCpu['tenant-a'] ?? 0) > 0 && (state.waitingForCpu['tenant-b'] ?? 0) > 0;
      const start = await eventually('both tenants over budget', 30_000, async () => {
        const state = await lab.dataplane();
        await topUp(state);
        return backlogged(state) ? state : undefined;
      });
      const used = (state: Dataplane, tenant: string) => state.programCpuNs[tenant] - start.programCpuNs[tenant];
      const end = await eventually(`tenant A has run ${USED_A_NS / 1e6} ms of program time more`, 60_000, async () => {
        const state = await lab.dataplane();
        if (used(state, 'tenant-a') >= USED_A_NS) return state;
        await topUp(state);
        return undefined;
      });
      assert.ok(backlogged(end), `both tenants still had frames waiting: ${JSON.stringify(end.waitingForCpu)}`);
      // Between two snapshots each bucket earns weight / sum(weights) of the budget over the same time T, and what it
      // charged differs from what it earned by the change in its tokens, which stay at most the burst and above minus
      // the burst and one frame's cost (a backlogged tenant's bucket is emptied on every pass of the switch's loop, so
      // it never overflows unless the loop stalls). So usedA = 3/4 R T + eA and usedB = 1/4 R T + eB with |e| <=
      // burst + a frame, and |usedA - 3 usedB| <= 4 (burst + a frame). A frame costs µs warm, but the first after the
      // switch idled (as it does while both tenants rest) has been measured at up to 1.1 ms on a host that ran other
      // machines on the core meanwhile: 4 (0.3 + 1.1) ms = 5.6 ms, a third of A's 18 ms. Ignoring the weights would
      // give usedA = usedB, so usedA - 3 usedB = -2 usedA = -36 ms; weights of 2 and 1, -usedA / 2 = -9 ms.
      const usedA = used(end, 'tenant-a');
      const usedB = used(end, 'tenant-b');
      const bound = USED_A_NS / 3;
      t.diagnostic(`program time A ${(usedA / 1e6).toFixed(2)} ms, B ${(usedB / 1e6).toFixed(2)} ms`);
      assert.ok(
        Math.abs(usedA - 3 * usedB) <= bound,
        `program time A ${(usedA / 1e6).toFixed(2)} ms, B ${(usedB / 1e6).toFixed(2)} ms: A - 3B is off by more than ${bound / 1e6} ms`,
      );
      for (const tenant of ['tenant-a', 'tenant-b']) {
        assert.equal(end.counters.tenants[tenant]?.drops['cpu-budget'] ?? 0, 0, `nothing of ${tenant} dropped`);
      }
    },
  );
});
