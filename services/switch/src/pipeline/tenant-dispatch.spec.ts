import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrame } from '@tenantlab/shared';
import { type CompiledProgram, ProgramCodeCache } from '../programs';
import { countAndDrop } from '../programs/testing/program-fixtures';
import { SwitchPipeline } from './switch-pipeline';
import type { SwitchPort } from './switch-port';

function udpFrom(mac: string): Buffer {
  return buildFrame({
    srcMac: mac,
    dstMac: '02:00:00:00:00:ff',
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 1000, dstPort: 2000 },
    payload: Buffer.alloc(8),
  });
}

describe('the system stage dispatches frames to their tenant program by VLAN', () => {
  for (const cacheSize of [0, 1024]) {
    it(`runs each tenant's own program on its frames only (flow cache ${cacheSize ? 'on' : 'off'})`, () => {
      const a1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
      const a2: SwitchPort = { no: 2, vm: 'vm-a2', tenant: 'tenant-a', vlan: 10 };
      const b1: SwitchPort = { no: 3, vm: 'vm-b1', tenant: 'tenant-b', vlan: 20 };
      const c1: SwitchPort = { no: 4, vm: 'vm-c1', tenant: 'tenant-c', vlan: 30 };
      // Made-up MAC addresses: the check of each frame's source MAC against its port's own (own-source.spec) is off.
      const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: cacheSize });
      for (const port of [a1, a2, b1, c1]) pipeline.attach(port);
      const codes = new ProgramCodeCache();
      const a = countAndDrop('tenant-a', ['vm-a1', 'vm-a2'], codes);
      const b = countAndDrop('tenant-b', ['vm-b1'], codes);
      pipeline.installPrograms(
        new Map([
          ['tenant-a', a],
          ['tenant-b', b],
        ]),
      );

      for (let i = 0; i < 3; i++)
        assert.deepEqual(pipeline.process({ port: a1, frame: udpFrom('02:00:00:00:00:a1') }), {
          kind: 'drop',
          reason: 'program-drop',
        });
      assert.deepEqual(pipeline.process({ port: b1, frame: udpFrom('02:00:00:00:00:b1') }), {
        kind: 'drop',
        reason: 'program-drop',
      });
      const fromC = pipeline.process({ port: c1, frame: udpFrom('02:00:00:00:00:c1') });
      assert.notEqual(
        fromC.kind === 'drop' && fromC.reason,
        'program-drop',
        'tenant C has no program: nothing drops its frames',
      );
      assert.equal(a.counter('frames', 0).packets, 3);
      assert.equal(b.counter('frames', 0).packets, 1);
    });
  }

  it("a port whose VLAN is another tenant's still runs its own tenant's program", () => {
    // The operator never hands out one VLAN twice; if a registry said so anyway, the program must follow the tenant.
    const a1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
    const intruder: SwitchPort = { no: 2, vm: 'vm-b1', tenant: 'tenant-b', vlan: 10 };
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    pipeline.attach(a1);
    pipeline.attach(intruder);
    const codes = new ProgramCodeCache();
    const a = countAndDrop('tenant-a', ['vm-a1'], codes);
    const b = countAndDrop('tenant-b', ['vm-b1'], codes);
    pipeline.installPrograms(
      new Map([
        ['tenant-a', a],
        ['tenant-b', b],
      ]),
    );
    pipeline.process({ port: intruder, frame: udpFrom('02:00:00:00:00:b1') });
    assert.equal(b.counter('frames', 0).packets, 1);
    assert.equal(a.counter('frames', 0).packets, 0, "tenant A's program never sees tenant B's frame");
  });

  it('refuses a CPU weight that is not a positive number', () => {
    const pipeline = new SwitchPipeline({
      ownMacOf: false,
      flowCacheSize: 0,
      programCpu: { nsPerSecond: 1e9, burstNs: 1e6 },
    });
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => pipeline.setCpuWeight('tenant-a', weight), /must be positive/);
    }
  });

  it("charges each program's time to its own tenant, and shows it per tenant", () => {
    const a1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
    const b1: SwitchPort = { no: 2, vm: 'vm-b1', tenant: 'tenant-b', vlan: 20 };
    const programs = (): Map<string, CompiledProgram> => {
      const codes = new ProgramCodeCache();
      return new Map([
        ['tenant-a', countAndDrop('tenant-a', ['vm-a1'], codes)],
        ['tenant-b', countAndDrop('tenant-b', ['vm-b1'], codes)],
      ]);
    };
    const unbudgeted = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    unbudgeted.attach(a1);
    unbudgeted.installPrograms(programs());
    unbudgeted.process({ port: a1, frame: udpFrom('02:00:00:00:00:a1') });
    assert.deepEqual(unbudgeted.programCpuNs(), {}, 'without a budget nothing is measured');

    const pipeline = new SwitchPipeline({
      ownMacOf: false,
      flowCacheSize: 0,
      programCpu: { nsPerSecond: 1e9, burstNs: 1e9 },
    });
    pipeline.attach(a1);
    pipeline.attach(b1);
    pipeline.installPrograms(programs());
    assert.deepEqual(pipeline.programCpuNs(), { 'tenant-a': 0, 'tenant-b': 0 });
    for (let i = 0; i < 100; i++) pipeline.process({ port: a1, frame: udpFrom('02:00:00:00:00:a1') });
    const afterA = pipeline.programCpuNs();
    assert.ok(afterA['tenant-a'] > 0, `tenant A's program time is charged (${afterA['tenant-a']} ns)`);
    assert.equal(afterA['tenant-b'], 0, 'none of it to tenant B');
    pipeline.process({ port: b1, frame: udpFrom('02:00:00:00:00:b1') });
    const afterB = pipeline.programCpuNs();
    assert.ok(afterB['tenant-b'] > 0);
    assert.equal(afterB['tenant-a'], afterA['tenant-a'], "B's frame adds nothing to A");
  });

  // Weights 3:1 with both tenants over budget: the program time each gets, and so the frames its program runs, split
  // 3:1. A switch that ignored the weights would split them 1:1.
  for (const when of ['before the tenants have programs', 'after their programs are installed']) {
    it(`splits program CPU between tenants over budget by their weights, set ${when}`, () => {
      const a1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
      const b1: SwitchPort = { no: 2, vm: 'vm-b1', tenant: 'tenant-b', vlan: 20 };
      // A simulated core: every clock read takes TICK ns, so a program run (read before, read after) costs TICK.
      const TICK = 1_000;
      let now = 0;
      const clock = () => (now += TICK);
      // A fifth of a core for programs; each round offers one frame per tenant and takes 3 or 4 reads, so a tenant
      // earns at most 0.2 * 4 * TICK per round, less than the TICK a frame costs: both are always over budget.
      const nsPerSecond = 0.2e9;
      const burstNs = 20 * TICK;
      const pipeline = new SwitchPipeline({
        ownMacOf: false,
        flowCacheSize: 0,
        programCpu: { nsPerSecond, burstNs, clock },
      });
      pipeline.attach(a1);
      pipeline.attach(b1);
      const codes = new ProgramCodeCache();
      const programs = new Map([
        ['tenant-a', countAndDrop('tenant-a', ['vm-a1'], codes)],
        ['tenant-b', countAndDrop('tenant-b', ['vm-b1'], codes)],
      ]);
      const setWeights = () => {
        pipeline.setCpuWeight('tenant-a', 3);
        pipeline.setCpuWeight('tenant-b', 1);
      };
      if (when.startsWith('before')) setWeights();
      pipeline.installPrograms(programs);
      if (when.startsWith('after')) setWeights();

      const start = now;
      const fromA = udpFrom('02:00:00:00:00:a1');
      const fromB = udpFrom('02:00:00:00:00:b1');
      const budgetDrops = { a: 0, b: 0 };
      for (let round = 0; round < 20_000; round++) {
        const a = pipeline.process({ port: a1, frame: fromA });
        const b = pipeline.process({ port: b1, frame: fromB });
        if (a.kind === 'drop' && a.reason === 'cpu-budget') budgetDrops.a++;
        if (b.kind === 'drop' && b.reason === 'cpu-budget') budgetDrops.b++;
      }
      const elapsed = now - start;
      const ran = {
        a: programs.get('tenant-a')!.counter('frames', 0).packets,
        b: programs.get('tenant-b')!.counter('frames', 0).packets,
      };
      assert.ok(budgetDrops.a > 0 && budgetDrops.b > 0, 'both tenants were over budget');
      // The token bucket's accounting: a tenant runs its share of the elapsed time, give or take the burst it starts
      // with and the one frame it may run into debt, so each count is exact to within burst / TICK + 1 frames.
      const slack = burstNs / TICK + 1;
      const programTime = (nsPerSecond / 1e9) * elapsed;
      for (const [tenant, share] of [
        ['a', 3 / 4],
        ['b', 1 / 4],
      ] as const) {
        const expected = (share * programTime) / TICK;
        assert.ok(
          Math.abs(ran[tenant] - expected) <= slack,
          `tenant ${tenant} ran ${ran[tenant]} frames, expected ${expected.toFixed(0)} ± ${slack} (A ${ran.a}, B ${ran.b})`,
        );
      }
      assert.ok(Math.abs(ran.a / ran.b - 3) < 0.1, `A:B = ${(ran.a / ran.b).toFixed(3)}, expected 3`);
      assert.deepEqual(
        pipeline.programCpuNs(),
        { 'tenant-a': ran.a * TICK, 'tenant-b': ran.b * TICK },
        'the time charged to each tenant, as GET /dataplane shows it',
      );
    });
  }
});
