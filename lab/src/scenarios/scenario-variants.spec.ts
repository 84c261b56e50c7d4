import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Scenario } from './scenario';
import { readyTimeoutOf } from './scenario-runner';
import { allocatorEnvOf, memoryEnvOf, resolveVariant, runsOf, switchEnvOf } from './scenario-variants';

const SCENARIO: Scenario = {
  name: 'unit',
  switch: { programCpuNsPerSecond: 4_000_000 },
  tenants: [
    { id: 'victim', vms: ['vm-v1', 'vm-v2'], allow: [{ to: 'greedy', service: 'db' }] },
    { id: 'greedy', vms: ['vm-g1', 'vm-g2'] },
  ],
  workloads: [
    { kind: 'traffic', from: 'vm-v1', to: ['vm-v2', 'vm-g2'], ratePps: 100 },
    { kind: 'traffic', from: 'vm-g1', to: ['vm-g2'], ratePps: 2000 },
    { kind: 'traffic', from: 'vm-v2', to: ['vm-g1'], ratePps: 10 },
    { kind: 'echo', vm: 'vm-g2', service: 'db' },
    { kind: 'ping', from: 'vm-v1', target: 'vm-g2/db' },
    { kind: 'ping', from: 'vm-v1', target: 'vm-v2/echo' },
  ],
  timeline: [
    { atMs: 1, kind: 'cpu-weight', tenant: 'greedy', weight: 2 },
    { atMs: 2, kind: 'impair', vm: 'vm-g2', delayMs: 1 },
    { atMs: 3, kind: 'kill', target: 'vm-g1' },
    { atMs: 4, kind: 'kill', target: 'switch' },
    { atMs: 5, kind: 'sampling', tenant: 'victim', rate: 0 },
  ],
  variants: [
    { name: 'with', description: 'as written' },
    { name: 'without', withoutTenants: ['greedy'] },
    { name: 'off', switch: { programCpuNsPerSecond: 1e12, programCpuBurstNs: 1e12 } },
  ],
  comparisons: [{ name: 'x', figure: 'p99Us', vms: ['vm-v2'], variant: 'with', against: 'without' }],
};

describe('scenario variants', () => {
  it('a scenario without variants is one run of itself', () => {
    const plain: Scenario = { name: 'plain', tenants: [{ id: 't', vms: ['vm-1'] }] };
    assert.deepEqual(runsOf(plain), [{ scenario: plain }]);
  });

  it('runs each variant in the order of the file, with neither variants nor comparisons of its own', () => {
    const runs = runsOf(SCENARIO);
    assert.deepEqual(
      runs.map((r) => [r.variant, r.description]),
      [
        ['with', 'as written'],
        ['without', undefined],
        ['off', undefined],
      ],
    );
    for (const run of runs) {
      assert.equal(run.scenario.variants, undefined);
      assert.equal(run.scenario.comparisons, undefined);
      assert.equal(run.scenario.name, 'unit');
    }
    assert.deepEqual(runs[0]?.scenario.workloads, SCENARIO.workloads);
  });

  it('leaves a tenant out with every workload and event naming it or its VMs, keeping the other destinations', () => {
    const without = resolveVariant(SCENARIO, SCENARIO.variants![1]);
    assert.deepEqual(without.tenants, [{ id: 'victim', vms: ['vm-v1', 'vm-v2'], allow: [] }]);
    assert.deepEqual(without.workloads, [
      { kind: 'traffic', from: 'vm-v1', to: ['vm-v2'], ratePps: 100 },
      { kind: 'ping', from: 'vm-v1', target: 'vm-v2/echo' },
    ]);
    assert.deepEqual(
      without.timeline?.map((e) => e.atMs),
      [4, 5],
    );
    assert.deepEqual(without.switch, SCENARIO.switch, 'the rest is as the file says');
    assert.equal(SCENARIO.tenants.length, 2, 'the scenario itself is left as it was');
  });

  it('replaces the switch settings, tenants and workloads a variant gives', () => {
    assert.deepEqual(resolveVariant(SCENARIO, SCENARIO.variants![2]).switch, {
      programCpuNsPerSecond: 1e12,
      programCpuBurstNs: 1e12,
    });
    const one = resolveVariant(SCENARIO, {
      name: 'one',
      tenants: [{ id: 'all', vms: ['vm-v1', 'vm-v2', 'vm-g1', 'vm-g2'] }],
      workloads: [{ kind: 'traffic', from: 'vm-g1', to: ['vm-v1'], ratePps: 5 }],
    });
    assert.deepEqual(
      one.tenants.map((t) => t.id),
      ['all'],
    );
    assert.deepEqual(one.workloads, [{ kind: 'traffic', from: 'vm-g1', to: ['vm-v1'], ratePps: 5 }]);
    assert.deepEqual(one.timeline, SCENARIO.timeline);
  });

  it("turns switch settings into the switch's PROGRAM_CPU_* environment", () => {
    assert.deepEqual(switchEnvOf(undefined), {});
    assert.deepEqual(switchEnvOf({ programCpuNsPerSecond: 1e12, programCpuBurstNs: 200_000, tenantQuantum: 2560 }), {
      PROGRAM_CPU_NS_PER_SECOND: '1000000000000',
      PROGRAM_CPU_BURST_NS: '200000',
      SWITCH_TENANT_QUANTUM: '2560',
    });
    assert.deepEqual(switchEnvOf({ utilityWindowMs: 2000, utilityWindowReset: false }), {
      UTILITY_WINDOW_MS: '2000',
      UTILITY_WINDOW_RESET: 'false',
    });
  });

  it("merges a variant's allocator settings over the scenario's, and turns them into the allocator's environment", () => {
    const scenario: Scenario = {
      name: 'loop',
      tenants: [{ id: 't', vms: ['vm-1', 'vm-2'] }],
      allocator: {
        reallocation: 'live',
        stages: 2,
        registerCellsPerStage: 32768,
        settleMs: 300,
        opsPerPacket: 10,
        tenantOpsPerPacket: 8,
        tenantTables: 3,
      },
      variants: [{ name: 'static', allocator: { reallocation: 'static' } }, { name: 'live' }],
    };
    const [fixed, live] = runsOf(scenario).map((run) => run.scenario.allocator);
    assert.deepEqual(fixed, {
      reallocation: 'static',
      stages: 2,
      registerCellsPerStage: 32768,
      settleMs: 300,
      opsPerPacket: 10,
      tenantOpsPerPacket: 8,
      tenantTables: 3,
    });
    assert.deepEqual(live, scenario.allocator);
    assert.deepEqual(allocatorEnvOf(fixed), {
      ALLOCATOR_REALLOCATION: 'static',
      REALLOCATION_SETTLE_MS: '300',
      SWITCH_STAGES: '2',
      REGISTER_CELLS_PER_STAGE: '32768',
      SWITCH_OPS_PER_PACKET: '10',
      TENANT_QUOTA_OPS_PER_PACKET: '8',
      TENANT_QUOTA_TABLES: '3',
    });
    // The switch holds the memory the allocator shares out: the same stages and cells, nothing else.
    assert.deepEqual(memoryEnvOf(fixed), { SWITCH_STAGES: '2', REGISTER_CELLS_PER_STAGE: '32768' });
    assert.deepEqual(allocatorEnvOf(undefined), {});
    const without = runsOf({ ...scenario, allocator: undefined });
    assert.equal(without[1]?.scenario.allocator, undefined);
    assert.deepEqual(without[0]?.scenario.allocator, { reallocation: 'static' });
  });

  it('gives a lab of many VMs longer to answer ready: 90 s up to 32 VMs, 2 s more for each beyond', () => {
    const lab = (tenants: number): Scenario => ({
      name: 'many',
      tenants: Array.from({ length: tenants }, (_, t) => ({ id: `t${t}`, vms: [`t${t}-tx`, `t${t}-rx`] })),
    });
    assert.equal(readyTimeoutOf(lab(2)), 90_000);
    assert.equal(readyTimeoutOf(lab(16)), 90_000);
    assert.equal(readyTimeoutOf(lab(64)), 90_000 + 96 * 2000);
  });
});
