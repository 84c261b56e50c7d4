import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Scenario } from './scenario';
import { planScenario } from './scenario-plan';

const scenario = (): Scenario => ({
  name: 'plan',
  seed: 5,
  durationMs: 60_000,
  tenants: [{ id: 'tenant-a', vms: ['vm-a1', 'vm-a2'] }],
  workloads: [
    {
      kind: 'traffic',
      from: 'vm-a1',
      to: ['vm-a2'],
      ratePps: 100,
      startMs: 1000,
      phases: { onMs: [500, 3000], offMs: [100, 2000] },
    },
  ],
  timeline: [
    { kind: 'kill', atMs: [10_000, 50_000], target: 'switch' },
    { kind: 'impair', atMs: 5000, vm: 'vm-a2', lossRate: 0.1 },
    { kind: 'pause', atMs: [1000, 59_000], target: 'kafka', forMs: 1000 },
  ],
});

describe('planScenario', () => {
  it('draws the same event times, phases and seeds from the same file and seed', () => {
    assert.deepEqual(planScenario(scenario()), planScenario(scenario()));
    assert.equal(JSON.stringify(planScenario(scenario(), 99)), JSON.stringify(planScenario(scenario(), 99)));
  });

  it('draws other values from another seed (--seed), and keeps fixed times', () => {
    const a = planScenario(scenario());
    const b = planScenario(scenario(), 6);
    assert.equal(a.seed, 5);
    assert.equal(b.seed, 6);
    assert.notDeepEqual(
      a.events.map((e) => e.atMs),
      b.events.map((e) => e.atMs),
    );
    assert.notDeepEqual(a.workloads[0]?.onPhases, b.workloads[0]?.onPhases);
    assert.equal(b.events.find((e) => e.event.kind === 'impair')?.atMs, 5000);
  });

  it('keeps each drawn value in its range, events in time order, and a pause until its end', () => {
    for (let seed = 0; seed < 50; seed++) {
      const plan = planScenario(scenario(), seed);
      const kill = plan.events.find((e) => e.event.kind === 'kill')!;
      assert.ok(kill.atMs >= 10_000 && kill.atMs <= 50_000, String(kill.atMs));
      assert.deepEqual(
        plan.events.map((e) => e.atMs),
        [...plan.events.map((e) => e.atMs)].sort((x, y) => x - y),
      );
      const pause = plan.events.find((e) => e.event.kind === 'pause')!;
      assert.equal(pause.untilMs, pause.atMs + 1000);
      const phases = plan.workloads[0].onPhases;
      assert.equal(phases[0]?.[0], 1000);
      for (const [i, [start, stop]] of phases.entries()) {
        assert.ok(stop > start && stop <= 60_000);
        assert.ok(stop - start <= 3000);
        const next = phases[i + 1];
        if (next) assert.ok(next[0] - stop >= 100 && next[0] - stop <= 2000);
      }
    }
  });

  it('gives an impairment a seed from the scenario seed unless the file names one', () => {
    const impair = (seed: number) => planScenario(scenario(), seed).events.find((e) => e.event.kind === 'impair')!;
    const drawn = (impair(1).event as { seed?: number }).seed;
    assert.ok(Number.isInteger(drawn));
    assert.equal((impair(1).event as { seed?: number }).seed, drawn);
    assert.notEqual((impair(2).event as { seed?: number }).seed, drawn);
    const named = scenario();
    named.timeline![1] = { kind: 'impair', atMs: 5000, vm: 'vm-a2', seed: 42 };
    assert.equal(
      (planScenario(named).events.find((e) => e.event.kind === 'impair')!.event as { seed: number }).seed,
      42,
    );
  });

  it('moves no event when a workload is added', () => {
    const more = scenario();
    more.workloads!.push({ kind: 'ping', from: 'vm-a1', target: 'vm-a2/echo' });
    assert.deepEqual(planScenario(more).events, planScenario(scenario()).events);
  });

  it("takes the README's defaults: seed 1, 60 s, polling every 500 ms, 10 s to drain, events named by kind and target", () => {
    const plan = planScenario({
      name: 'defaults',
      tenants: [{ id: 'tenant-a', vms: ['vm-a1', 'vm-a2'] }],
      workloads: [{ kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 100 }],
      timeline: [{ kind: 'kill', atMs: 1000, target: 'switch' }],
    });
    assert.deepEqual(
      { seed: plan.seed, durationMs: plan.durationMs, intervalMs: plan.intervalMs, drainMs: plan.drainMs },
      { seed: 1, durationMs: 60_000, intervalMs: 500, drainMs: 10_000 },
    );
    assert.deepEqual(plan.workloads[0]?.onPhases, [[0, 60_000]], 'a workload runs the whole run by default');
    assert.equal(plan.events[0]?.label, 'kill switch');
  });
});
