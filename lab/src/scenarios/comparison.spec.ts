import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accountFor } from './analysis';
import {
  checkBenchable,
  compare,
  figureOf,
  measureMetrics,
  meetsGoal,
  shareOf,
  type VariantResults,
  writeBenchResult,
  writeComparison,
} from './comparison';
import type { RunResults } from './results-writer';
import type { RunFigures } from './run-figures';
import type { Scenario, ScenarioComparison } from './scenario';
import { planScenario } from './scenario-plan';

const SCENARIO: Scenario = {
  name: 'unit',
  seed: 3,
  durationMs: 10_000,
  switch: { programCpuNsPerSecond: 4_000_000 },
  tenants: [
    { id: 'victim', vms: ['vm-v1', 'vm-v2'] },
    { id: 'greedy', vms: ['vm-g1', 'vm-g2'], cpuWeight: 3 },
  ],
  variants: [{ name: 'with' }, { name: 'without', withoutTenants: ['greedy'] }],
  comparisons: [
    {
      name: 'victim_p99_with_vs_without',
      figure: 'p99Us',
      vms: ['vm-v2', 'vm-g2'],
      variant: 'with',
      against: 'without',
      goal: { atMost: 1.2 },
      seed: { source: 'seed 000', figure: 'limited interruptions' },
    },
    { name: 'program_ns', figure: 'programNsPerFrame', tenants: ['victim'], variant: 'with', against: 'without' },
    { name: 'switch_cpu', figure: 'switchCpuNsPerFrame', variant: 'with', against: 'without', goal: { atLeast: 2 } },
  ],
};

function figures(p99: Record<string, number>, programNs: number, cpuNsPerFrame: number | null): RunFigures {
  return {
    windowMs: 5000,
    vms: Object.fromEntries(
      Object.entries(p99).map(([vm, p]) => [vm, { received: 500, latencySamples: 500, p50Us: p / 2, p99Us: p }]),
    ),
    tenants: {
      victim: { framesIn: 1000, programNs, programNsPerFrame: programNs / 1000, cpuBudgetDrops: 0 },
      greedy: { framesIn: 3000, programNs: 9e6, programNsPerFrame: 3000, cpuBudgetDrops: 17 },
    },
    switch: { framesIn: 4000, cpuSeconds: 0.2, cpuNsPerFrame },
  };
}

function variant(name: string, f: RunFigures | undefined): VariantResults {
  const results: RunResults = {
    scenario: SCENARIO,
    source: 'scenarios/unit.json',
    mode: 'local',
    plan: planScenario(SCENARIO),
    startedAt: '2026-12-02T00:00:00.000Z',
    events: [],
    workloads: [],
    samples: [],
    series: [],
    dips: [],
    accounting: accountFor(undefined),
    ...(f ? { figures: f } : {}),
    failures: [],
  };
  return { name, results };
}

const WITH = figures({ 'vm-v2': 900, 'vm-g2': 1200 }, 2e6, 50_000);
const WITHOUT = figures({ 'vm-v2': 600, 'vm-g2': 800 }, 1e6, 40_000);

describe('variant comparisons', () => {
  it('meets a goal at its bounds, misses it past them, and says nothing without a goal or a value', () => {
    const range = { atLeast: 1, atMost: 2 };
    assert.deepEqual(
      [0.999, 1, 1.5, 2, 2.001].map((v) => meetsGoal(range, v)),
      [false, true, true, true, false],
    );
    assert.equal(meetsGoal({ atMost: 0 }, 0), true);
    assert.equal(meetsGoal({ atLeast: 10 }, 9), false);
    assert.equal(meetsGoal(range, null), undefined, 'not measured is not unmet');
    assert.equal(meetsGoal(undefined, 1), undefined);
  });

  it('takes the worst of the VMs for latency, program time over the frames of the tenants, the switch CPU', () => {
    const [p99, program, cpu] = SCENARIO.comparisons!;
    assert.equal(figureOf(p99, WITH), 1200);
    assert.equal(figureOf(program, WITH), 2000);
    assert.equal(figureOf({ ...program, tenants: undefined }, WITH), Math.round((2e6 + 9e6) / 4000));
    assert.equal(figureOf(cpu, WITH), 50_000);
    assert.equal(figureOf(p99, undefined), null, 'a run that measured nothing has no figure');
    assert.equal(figureOf({ ...p99, vms: ['vm-v2', 'vm-gone'] }, WITH), null, 'nor one missing a VM');
  });

  it('sets each ratio against its goal', () => {
    const ratios = compare(SCENARIO, [variant('with', WITH), variant('without', WITHOUT)]);
    assert.deepEqual(
      ratios.map((r) => [r.name, r.value, r.baseline, r.ratio, r.met]),
      [
        ['victim_p99_with_vs_without', 1200, 800, 1.5, false],
        ['program_ns', 2000, 1000, 2, undefined],
        ['switch_cpu', 50_000, 40_000, 1.25, false],
      ],
    );
    const unmeasured = compare(SCENARIO, [variant('with', WITH), variant('without', undefined)]);
    assert.deepEqual(
      unmeasured.map((r) => [r.ratio, r.met]),
      [
        [null, undefined],
        [null, undefined],
        [null, undefined],
      ],
    );
  });

  it("gives each tenant its weight's share of the scenario's budget", () => {
    assert.equal(shareOf(SCENARIO, 'victim'), 1_000_000);
    assert.equal(shareOf(SCENARIO, 'greedy'), 3_000_000);
    assert.equal(shareOf(SCENARIO, 'nobody'), undefined);
    assert.equal(shareOf({ ...SCENARIO, switch: undefined }, 'victim'), 125_000_000, 'the switch default');
  });

  it("writes a report with both variants' figures side by side, the seed's figure beside ours, and the JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), 'comparison-'));
    const { ratios } = writeComparison(dir, {
      scenario: SCENARIO,
      source: 'scenarios/unit.json',
      mode: 'local',
      seed: 3,
      startedAt: '2026-12-02T00:00:00.000Z',
      variants: [variant('with', WITH), variant('without', WITHOUT)],
      failures: [],
      repoRoot: dir,
    });
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(report, /^# Scenario unit$/m);
    assert.match(report, /\| VM \| with: frames \| with: p50 µs \| with: p99 µs \| without: frames \|/);
    assert.match(report, /^\| vm-v2 \| 500 \| 450 \| 900 \| 500 \| 300 \| 600 \|$/m);
    assert.match(
      report,
      /^\| victim_p99_with_vs_without \| p99 .* \| with \| without \| 1200 \| 800 \| 1\.5 \| ≤ 1\.2 \| no \|$/m,
    );
    assert.match(
      report,
      /^\| victim_p99_with_vs_without \| seed 000 \| limited interruptions \(no number published\) \| 1\.5 \|$/m,
    );
    // victim: 2e6 ns over 5 s against a share of 1e6 ns/s; greedy: 9e6 over 5 s against 3e6.
    assert.match(report, /^\| victim \| 1000 \| 2000 \| 0\.4 \| 0 \| 1000 \| 1000 \| 0\.2 \| 0 \|$/m);
    assert.match(report, /^\| greedy \| 3000 \| 3000 \| 0\.6 \| 17 \|/m);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      variants: { name: string; figures: RunFigures }[];
      comparisons: unknown;
    };
    assert.deepEqual(
      summary.variants.map((v) => [v.name, v.figures.vms['vm-v2']?.p99Us]),
      [
        ['with', 900],
        ['without', 600],
      ],
    );
    assert.deepEqual(summary.comparisons, ratios);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'comparison.json'), 'utf8')), ratios);

    const bench = JSON.parse(readFileSync(writeBenchResult(dir, SCENARIO, 3, ratios), 'utf8')) as {
      name: string;
      ratios: Record<string, number>;
      goals: Record<string, unknown>;
    };
    assert.equal(bench.name, 'scenario-unit');
    assert.deepEqual(bench.ratios, { victim_p99_with_vs_without: 1.5, program_ns: 2, switch_cpu: 1.25 });
    assert.deepEqual(bench.goals, { victim_p99_with_vs_without: { atMost: 1.2 }, switch_cpu: { atLeast: 2 } });
  });

  it("reads seed 004's loop figures and the frames lost, and writes a scenario's named metrics to bench/results", () => {
    const loop = (mean: number, p5: number, p99: number | null, relinks: number): RunFigures['utility'] => ({
      reports: 10,
      tenants: {},
      satisfactionMean: mean,
      satisfactionP5: p5,
      decisions: relinks,
      relinks,
      decisionToInstalledMs: [],
      decisionToInstalledP99Ms: p99,
      notSeenInstalled: 0,
    });
    const live = { ...WITH, utility: loop(0.9, 0.5, 40, 12), framesLost: 0 };
    const fixed = { ...WITHOUT, utility: loop(0.6, 0.2, null, 0), framesLost: 3 };
    const of = (figure: ScenarioComparison['figure'], f: RunFigures): number | null => figureOf({ figure }, f);
    assert.deepEqual(
      (['satisfactionMean', 'satisfactionP5', 'decisionToInstalledP99Ms', 'relinks', 'framesLost'] as const).map((f) =>
        of(f, live),
      ),
      [0.9, 0.5, 40, 12, 0],
    );
    assert.equal(of('satisfactionMean', WITH), null, 'a run without the loop has no satisfaction');
    assert.equal(of('framesLost', fixed), 3);

    const scenario: Scenario = {
      ...SCENARIO,
      comparisons: [{ name: 'live_vs_static_mean', figure: 'satisfactionMean', variant: 'with', against: 'without' }],
      metrics: [
        {
          name: 'satisfaction_mean_live',
          figure: 'satisfactionMean',
          variant: 'with',
          reference: {
            label: 'the in-process model',
            file: 'bench/results/model.json',
            key: 'metrics.mean',
            seedKey: 'seed',
            within: 0.05,
          },
        },
        {
          name: 'decision_to_installed_p99_ms',
          figure: 'decisionToInstalledP99Ms',
          variant: 'with',
          goal: { atMost: 1000 },
        },
        { name: 'frames_lost_static', figure: 'framesLost', variant: 'without', goal: { atMost: 0 } },
        { name: 'decision_to_installed_p99_static', figure: 'decisionToInstalledP99Ms', variant: 'without' },
      ],
    };
    const variants = [variant('with', live), variant('without', fixed)];
    const metrics = measureMetrics(scenario, variants);
    assert.deepEqual(
      metrics.map((m) => [m.name, m.value, m.met]),
      [
        ['satisfaction_mean_live', 0.9, undefined],
        ['decision_to_installed_p99_ms', 40, true],
        ['frames_lost_static', 3, false],
        ['decision_to_installed_p99_static', null, undefined],
      ],
    );
    assert.equal(metrics[0]?.reference, undefined, 'references are read only for a run (its seed, its repository)');
    const dir = mkdtempSync(join(tmpdir(), 'loop-'));
    mkdirSync(join(dir, 'bench', 'results'), { recursive: true });
    writeFileSync(join(dir, 'bench', 'results', 'model.json'), JSON.stringify({ metrics: { mean: 0.87 }, seed: 3 }));
    const { ratios, metrics: measured } = writeComparison(dir, {
      scenario,
      source: 'scenarios/unit.json',
      mode: 'local',
      seed: 3,
      startedAt: '2026-12-02T00:00:00.000Z',
      variants,
      failures: [],
      repoRoot: dir,
    });
    assert.equal(ratios[0]?.ratio, 1.5);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(report, /\| frames_lost_static \| frames lost [^|]*\| without \| 3 \| ≤ 0 \| no \|/);
    assert.match(
      report,
      /^\| satisfaction_mean_live \| 0\.9 \| 0\.87 \| 0\.03 \| within 0\.05 \| yes \| the in-process model \(`bench\/results\/model\.json`\) \|$/m,
    );
    const bench = JSON.parse(readFileSync(writeBenchResult(dir, scenario, 3, ratios, measured), 'utf8')) as {
      metrics: Record<string, number>;
      baseline: Record<string, number>;
      ratios: Record<string, number>;
      goals: Record<string, unknown>;
    };
    assert.equal(bench.metrics['satisfaction_mean_live'], 0.9);
    assert.equal(bench.metrics['decision_to_installed_p99_ms'], 40);
    assert.equal(bench.metrics['frames_lost_static'], 3);
    assert.ok(!('decision_to_installed_p99_static' in bench.metrics), 'a figure not measured is left out');
    assert.equal(bench.ratios['live_vs_static_mean'], 1.5);
    assert.deepEqual(bench.goals['decision_to_installed_p99_ms'], { atMost: 1000 });
    assert.equal(bench.metrics['satisfaction_mean_live_minus_reference'], 0.03);
    assert.equal(bench.baseline['satisfaction_mean_live_reference'], 0.87);
    assert.deepEqual(bench.goals['satisfaction_mean_live_minus_reference'], { atLeast: -0.05, atMost: 0.05 });
  });

  it('refuses --bench for a scenario with neither comparisons nor metrics, naming the file and what to add', () => {
    const plain = { name: 's', tenants: [{ id: 'tenant-a', vms: ['vm-a1'] }] } as Scenario;
    assert.throws(() => checkBenchable(plain, 'scenarios/s.json'), {
      message:
        "--bench writes a scenario's comparisons[] and metrics[], and scenarios/s.json has neither: add them (they " +
        'name variants[]), or run it without --bench',
    });
    const metric = { name: 'm', figure: 'framesLost' as const, variant: 'v' };
    assert.doesNotThrow(() => checkBenchable({ ...plain, metrics: [metric] }, 'scenarios/s.json'));
  });
});
