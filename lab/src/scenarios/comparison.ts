import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goalMet, ValidationError } from '@tenantlab/shared';
import { cell, reportHead, table } from './markdown-report';
import { readReference, type ReferenceFigure } from './metric-reference';
import type { RunResults } from './results-writer';
import type { RunFigures } from './run-figures';
import type { Scenario, ScenarioComparison, ScenarioMetric } from './scenario';

export interface VariantResults {
  name: string;
  description?: string;
  results: RunResults;
}

export interface ComparisonRun {
  scenario: Scenario;
  source: string;
  mode: 'local' | 'docker';
  seed: number;
  startedAt: string;
  variants: VariantResults[];
  failures: string[];
  /** Where metrics' references are read from. */
  repoRoot: string;
}

/** One comparison as measured: the figure in each of the two variants and their ratio (null where not measured). */
export interface ComparedRatio {
  name: string;
  figure: ScenarioComparison['figure'];
  variant: string;
  against: string;
  value: number | null;
  baseline: number | null;
  ratio: number | null;
  goal?: ScenarioComparison['goal'];
  /** Whether the ratio meets the goal (undefined without a goal or a ratio). */
  met?: boolean;
  seed?: ScenarioComparison['seed'];
}

/** Which figure to read from a run, and of which VMs or tenants: what a comparison and a metric both name. */
export type FigureQuery = Pick<ScenarioMetric, 'figure' | 'vms' | 'tenants'>;

/** Whether `value` meets `goal` (undefined without a goal or a value, so "not measured" is never "unmet"). */
export function meetsGoal(goal: ScenarioMetric['goal'], value: number | null): boolean | undefined {
  return goal && value !== null ? goalMet(value, goal) : undefined;
}

/**
 * A comparison's (or metric's) figure in one run: latency is the worst of the named VMs' (each measured by the receiving VM);
 * program ns/frame is the program time the switch charged to the named tenants (default all) over the frames they
 * sent in; the switch's CPU per frame is its process CPU over every frame in. Null when the run did not measure it.
 */
export function figureOf(wanted: FigureQuery, figures: RunFigures | undefined): number | null {
  if (!figures) return null;
  switch (wanted.figure) {
    case 'p50Us':
    case 'p99Us': {
      const key = wanted.figure;
      const values = (wanted.vms ?? []).map((vm) => figures.vms[vm]?.[key] ?? null);
      return values.length === 0 || values.includes(null) ? null : Math.max(...(values as number[]));
    }
    case 'programNsPerFrame': {
      const tenants = wanted.tenants ?? Object.keys(figures.tenants);
      const picked = tenants.map((t) => figures.tenants[t]).filter((t) => t !== undefined);
      const frames = picked.reduce((sum, t) => sum + t.framesIn, 0);
      return frames > 0 ? Math.round(picked.reduce((sum, t) => sum + t.programNs, 0) / frames) : null;
    }
    case 'switchCpuNsPerFrame':
      return figures.switch.cpuNsPerFrame;
    case 'satisfactionMean':
      return figures.utility?.satisfactionMean ?? null;
    case 'satisfactionP5':
      return figures.utility?.satisfactionP5 ?? null;
    case 'decisionToInstalledP99Ms':
      return figures.utility?.decisionToInstalledP99Ms ?? null;
    case 'relinks':
      return figures.utility?.relinks ?? null;
    case 'framesLost':
      return figures.framesLost ?? null;
  }
}

export function compare(scenario: Scenario, variants: readonly VariantResults[]): ComparedRatio[] {
  const figuresOf = (name: string): RunFigures | undefined => variants.find((v) => v.name === name)?.results.figures;
  return (scenario.comparisons ?? []).map((c) => {
    const value = figureOf(c, figuresOf(c.variant));
    const baseline = figureOf(c, figuresOf(c.against));
    const ratio =
      value !== null && baseline !== null && baseline > 0 ? Math.round((value / baseline) * 1000) / 1000 : null;
    const met = meetsGoal(c.goal, ratio);
    return {
      name: c.name,
      figure: c.figure,
      variant: c.variant,
      against: c.against,
      value,
      baseline,
      ratio,
      ...(c.goal ? { goal: c.goal } : {}),
      ...(met === undefined ? {} : { met }),
      ...(c.seed ? { seed: c.seed } : {}),
    };
  });
}

/** One of the scenario's `metrics` as measured in its variant (null where not measured). */
export interface MeasuredMetric {
  name: string;
  figure: ScenarioMetric['figure'];
  variant: string;
  value: number | null;
  goal?: ScenarioMetric['goal'];
  met?: boolean;
  reference?: ReferenceFigure;
}

/** The scenario's metrics as measured; with `references`, each metric's reference read beside it. */
export function measureMetrics(
  scenario: Scenario,
  variants: readonly VariantResults[],
  references?: { seed: number; repoRoot: string },
): MeasuredMetric[] {
  return (scenario.metrics ?? []).map((m) => {
    const value = figureOf(m, variants.find((v) => v.name === m.variant)?.results.figures);
    const met = meetsGoal(m.goal, value);
    const reference =
      m.reference && references ? readReference(m.reference, value, references.seed, references.repoRoot) : undefined;
    return {
      name: m.name,
      figure: m.figure,
      variant: m.variant,
      value,
      ...(m.goal ? { goal: m.goal } : {}),
      ...(met === undefined ? {} : { met }),
      ...(reference ? { reference } : {}),
    };
  });
}

/** What a comparison run measured: its ratios and its metrics, each computed once. */
export interface ComparisonFigures {
  ratios: ComparedRatio[];
  metrics: MeasuredMetric[];
}

/** The comparison's files in the results folder: report.md, comparison.json and summary.json. */
export function writeComparison(dir: string, run: ComparisonRun): ComparisonFigures {
  mkdirSync(dir, { recursive: true });
  const ratios = compare(run.scenario, run.variants);
  const metrics = measureMetrics(run.scenario, run.variants, run);
  const summary = {
    name: run.scenario.name,
    seed: run.seed,
    mode: run.mode,
    ok: run.failures.length === 0,
    failures: run.failures,
    variants: run.variants.map((v) => ({
      name: v.name,
      ok: v.results.failures.length === 0,
      accounting: v.results.accounting,
      figures: v.results.figures ?? null,
    })),
    comparisons: ratios,
    metrics,
  };
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(dir, 'comparison.json'), `${JSON.stringify(ratios, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), comparisonReport(run, ratios, metrics));
  return { ratios, metrics };
}

/**
 * Refuses `--bench` for a scenario with nothing to write there (no comparisons, no metrics), before its lab comes up:
 * a run of minutes that writes nothing would say so only at its end.
 */
export function checkBenchable(scenario: Scenario, file: string): void {
  if ((scenario.comparisons?.length ?? 0) + (scenario.metrics?.length ?? 0) > 0) return;
  const detail = `--bench writes a scenario's comparisons[] and metrics[], and ${file} has neither`;
  throw new ValidationError(`${detail}: add them (they name variants[]), or run it without --bench`, [detail]);
}

/** The comparisons in the benchmarks' format, `<dir>/scenario-<name>.json` (the issue's bench figures). */
export function writeBenchResult(
  dir: string,
  scenario: Scenario,
  seed: number,
  ratios: readonly ComparedRatio[],
  /** The scenario's own named figures (`metrics`), written as `metrics.<name>`. */
  metrics: readonly MeasuredMetric[] = [],
): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `scenario-${scenario.name}.json`);
  const measured = ratios.filter((r) => r.ratio !== null);
  const compared = metrics.flatMap((m) =>
    m.reference?.difference == null ? [] : [{ name: m.name, reference: m.reference }],
  );
  const report = {
    name: `scenario-${scenario.name}`,
    metrics: {
      ...Object.fromEntries(measured.map((r) => [`${r.name}.${r.variant}.${r.figure}`, r.value])),
      ...Object.fromEntries(metrics.filter((m) => m.value !== null).map((m) => [m.name, m.value])),
      ...Object.fromEntries(compared.map((m) => [`${m.name}_minus_reference`, m.reference.difference])),
    },
    baseline: {
      ...Object.fromEntries(measured.map((r) => [`${r.name}.${r.against}.${r.figure}`, r.baseline])),
      ...Object.fromEntries(compared.map((m) => [`${m.name}_reference`, m.reference.value])),
    },
    ratios: Object.fromEntries(measured.map((r) => [r.name, r.ratio])),
    setup: { scenario: scenario.name, seed },
    goals: {
      ...Object.fromEntries([...ratios, ...metrics].filter((r) => r.goal).map((r) => [r.name, r.goal])),
      ...Object.fromEntries(
        compared.flatMap(({ name, reference: { within } }) =>
          within === undefined ? [] : [[`${name}_minus_reference`, { atLeast: -within, atMost: within }]],
        ),
      ),
    },
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** The switch's PROGRAM_CPU_NS_PER_SECOND default (services/switch/src/config/switch.config.ts). */
const DEFAULT_PROGRAM_CPU_NS = 500_000_000;

/** A tenant's share of the scenario's own program CPU budget, ns/s (its tenants, their weights, default 1). */
export function shareOf(scenario: Scenario, tenant: string): number | undefined {
  const weights = new Map(scenario.tenants.map((t) => [t.id, t.cpuWeight ?? 1]));
  const weight = weights.get(tenant);
  if (weight === undefined) return undefined;
  const total = [...weights.values()].reduce((sum, w) => sum + w, 0);
  return ((scenario.switch?.programCpuNsPerSecond ?? DEFAULT_PROGRAM_CPU_NS) * weight) / total;
}

function goalText(goal: ScenarioComparison['goal']): string {
  if (!goal) return '';
  return [goal.atLeast === undefined ? '' : `≥ ${goal.atLeast}`, goal.atMost === undefined ? '' : `≤ ${goal.atMost}`]
    .filter(Boolean)
    .join(' and ');
}

const FIGURE_NAMES: Record<ScenarioComparison['figure'], string> = {
  p99Us: 'p99 one-way latency (µs), worst of the VMs',
  p50Us: 'p50 one-way latency (µs), worst of the VMs',
  programNsPerFrame: 'program time charged per frame (ns)',
  switchCpuNsPerFrame: 'switch process CPU per frame (ns)',
  satisfactionMean: 'satisfaction (share of windows with utility > 0.9), mean over tenants',
  satisfactionP5: 'satisfaction, 5th percentile over tenants',
  decisionToInstalledP99Ms: 'decision to installed at the switch, p99 (ms)',
  relinks: 'pipeline re-links (live decisions that changed shares)',
  framesLost: 'frames lost over the run (switch drops, store losses, waiting for CPU, uncounted)',
};

function comparisonReport(
  run: ComparisonRun,
  ratios: readonly ComparedRatio[],
  metrics: readonly MeasuredMetric[],
): string {
  const names = run.variants.map((v) => v.name);
  const figures = run.variants.map((v) => v.results.figures);
  const vms = [...new Set(figures.flatMap((f) => Object.keys(f?.vms ?? {})))].filter((vm) =>
    figures.some((f) => (f?.vms[vm]?.received ?? 0) > 0),
  );
  const tenants = [...new Set(figures.flatMap((f) => Object.keys(f?.tenants ?? {})))];
  const lines = [
    ...reportHead(run, [
      `${run.variants.length} variants, one after the other, each on a lab of its own for` +
        ` ${((run.variants[0]?.results.plan.durationMs ?? 0) / 1000).toFixed(1)} s: ${names.join(', ')}`,
    ]),
    '## Variants',
    '',
    table(
      ['variant', 'what it runs', 'measured window (s)', 'folder'],
      run.variants.map((v) => [
        v.name,
        v.description ?? '',
        v.results.figures ? (v.results.figures.windowMs / 1000).toFixed(1) : 'n/a',
        `[${v.name}/](${v.name}/report.md)`,
      ]),
    ),
    '',
    '## Comparisons',
    '',
    'Each ratio is the figure in the first variant over the same figure in the second, both measured in this run.',
    '',
    table(
      ['ratio', 'figure', 'variant', 'against', 'value', 'baseline', 'ratio', 'goal', 'met'],
      ratios.map((r) => [
        r.name,
        FIGURE_NAMES[r.figure],
        r.variant,
        r.against,
        cell(r.value),
        cell(r.baseline),
        cell(r.ratio),
        goalText(r.goal),
        r.met === undefined ? '' : r.met ? 'yes' : 'no',
      ]),
    ),
    '',
    ...metricsSection(metrics),
    ...(ratios.some((r) => r.seed)
      ? [
          "### The seeds' figures beside ours",
          '',
          table(
            ['ratio', 'seed', "the seed's figure", 'ours'],
            ratios
              .filter((r) => r.seed)
              .map((r) => [
                r.name,
                r.seed!.source,
                `${r.seed!.figure}${r.seed!.value === undefined ? ' (no number published)' : ` (${r.seed!.value})`}`,
                cell(r.ratio),
              ]),
          ),
          '',
        ]
      : []),
    '## Receive latency per VM, side by side',
    '',
    'Measured by each receiving VM from the send time in every frame (`GET /traffic/received`), over the window.',
    '',
    table(
      ['VM', ...names.flatMap((n) => [`${n}: frames`, `${n}: p50 µs`, `${n}: p99 µs`])],
      vms.map((vm) => [
        vm,
        ...figures.flatMap((f) => {
          const v = f?.vms[vm];
          return [cell(v?.received), cell(v?.p50Us), cell(v?.p99Us)];
        }),
      ]),
    ),
    '',
    '## The switch per tenant, side by side',
    '',
    "Frames each tenant's VMs sent into the switch, the program time the switch charged to it (its CPU accounting) per" +
      ' frame, and frames dropped for want of CPU budget.',
    '',
    table(
      [
        'tenant',
        ...names.flatMap((n) => [
          `${n}: frames in`,
          `${n}: program ns/frame`,
          `${n}: program time / share`,
          `${n}: cpu-budget drops`,
        ]),
      ],
      tenants.map((tenant) => [
        tenant,
        ...figures.flatMap((f, i) => {
          const t = f?.tenants[tenant];
          // The scenario's own budget, shared among the variant's tenants.
          const tenantsOfVariant = run.variants[i]?.results.scenario.tenants ?? run.scenario.tenants;
          const share = shareOf({ ...run.scenario, tenants: tenantsOfVariant }, tenant);
          const used = t && f && f.windowMs > 0 ? t.programNs / (f.windowMs / 1000) : undefined;
          return [
            cell(t?.framesIn),
            cell(t?.programNsPerFrame),
            used === undefined || share === undefined ? 'n/a' : Math.round((used / share) * 100) / 100,
            cell(t?.cpuBudgetDrops),
          ];
        }),
      ]),
    ),
    '',
    `"Program time / share" is the program time the switch charged to the tenant per second of the window over its` +
      ` share of the scenario's own budget (\`switch.programCpuNsPerSecond\`, default ${DEFAULT_PROGRAM_CPU_NS}` +
      " ns/s, times its weight over the sum of the weights of the variant's tenants): in a variant whose budget" +
      ' never binds it is the load the tenant offers, in units of its share.',
    '',
    table(
      ['switch', ...names],
      [
        ['frames in', ...figures.map((f) => cell(f?.switch.framesIn))],
        ['process CPU (s)', ...figures.map((f) => cell(f?.switch.cpuSeconds))],
        ['CPU ns per frame', ...figures.map((f) => cell(f?.switch.cpuNsPerFrame))],
      ],
    ),
    '',
    '## Frame accounting per variant',
    '',
    table(
      ['variant', 'sent', 'received', 'switch drops', 'waiting for CPU', 'uncounted'],
      run.variants.map((v) => {
        const a = v.results.accounting;
        return [v.name, a.sent, a.received, a.switchDrops, a.waitingForCpu, a.uncounted];
      }),
    ),
    '',
    "Each variant's folder has its own report (with its plots), time series and plan.",
    '',
  ];
  return lines.join('\n');
}

function metricsSection(metrics: readonly MeasuredMetric[]): string[] {
  if (metrics.length === 0) return [];
  return [
    '## Figures',
    '',
    table(
      ['figure', 'what', 'variant', 'value', 'goal', 'met'],
      metrics.map((m) => [
        m.name,
        FIGURE_NAMES[m.figure],
        m.variant,
        cell(m.value),
        goalText(m.goal),
        m.met === undefined ? '' : m.met ? 'yes' : 'no',
      ]),
    ),
    '',
    ...referencesSection(metrics),
  ];
}

/** Each metric with a reference beside it: both values, the difference and its goal, or why it was not compared. */
function referencesSection(metrics: readonly MeasuredMetric[]): string[] {
  const referenced = metrics.flatMap((m) => (m.reference ? [{ ...m, reference: m.reference }] : []));
  if (referenced.length === 0) return [];
  return [
    '### Beside their references',
    '',
    table(
      ['figure', 'ours', 'reference', 'difference', 'goal', 'met', 'reference source'],
      referenced.map(({ name, value, reference: r }) => [
        name,
        cell(value),
        cell(r.value),
        cell(r.difference),
        r.within === undefined ? '' : `within ${r.within}`,
        r.met === undefined ? '' : r.met ? 'yes' : 'no',
        `${r.label} (\`${r.file}\`)${r.note ? `: not compared, ${r.note}` : ''}`,
      ]),
    ),
    '',
  ];
}
