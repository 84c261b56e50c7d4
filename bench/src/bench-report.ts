import { type FigureGoal, goalMet, nearestRank } from '@tenantlab/shared';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeGoal, ratioChart } from './bench-plot';

export type Figures = Record<string, number>;

/** A target a figure should reach (from the issue or the paper the benchmark reproduces). */
export type Goal = FigureGoal;

/** What every benchmark writes to `bench/results/<name>.json`: its figures, the baseline measured in the same run. */
export interface BenchReport {
  name: string;
  metrics: Figures;
  baseline: Figures;
  ratios: Figures;
  /** How the figures were taken: sizes, counts, what the baseline is. */
  setup: Record<string, string | number>;
  /** Goals by the key of a ratio or metric; the table and the plot say whether each is met. */
  goals?: Readonly<Record<string, Goal>>;
}

export const RESULTS_DIR = path.resolve(__dirname, '..', 'results');

/**
 * Prints the report as a table (with whether each goal is met) and writes it as JSON, plus its ratios as an SVG bar
 * chart beside it; returns the JSON file written.
 */
export async function publishReport(report: BenchReport): Promise<string> {
  const section = (kind: string, figures: Figures): [string, string, number][] =>
    Object.entries(figures).map(([key, value]) => [kind, key, value]);
  const rows = [
    ...section('metric', report.metrics),
    ...section('baseline', report.baseline),
    ...section('ratio', report.ratios),
  ];
  const width = Math.max(...rows.map(([, key]) => key.length));
  console.log(`\n${report.name}`);
  for (const [key, value] of Object.entries(report.setup)) console.log(`  ${key}: ${value}`);
  console.log('');
  for (const [kind, key, value] of rows) {
    console.log(`  ${kind.padEnd(8)}  ${key.padEnd(width)}  ${formatNumber(value).padStart(14)}`);
  }
  const goals = report.goals ?? {};
  for (const [key, goal] of Object.entries(goals)) {
    const value = report.ratios[key] ?? report.metrics[key];
    const verdict = value === undefined ? 'not measured' : goalMet(value, goal) ? 'met' : 'NOT met';
    console.log(`  ${'goal'.padEnd(8)}  ${key.padEnd(width)}  ${describeGoal(goal).padStart(14)}  ${verdict}`);
  }
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${report.name}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  const chart = path.join(RESULTS_DIR, `${report.name}.svg`);
  await writeFile(chart, ratioChart(report.name, report.ratios, goals));
  console.log(`\nwrote ${path.relative(process.cwd(), file)} and ${path.relative(process.cwd(), chart)}`);
  return file;
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** The q-quantile (0..1) of samples, by nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  const value = nearestRank(samples, q);
  if (value === null) throw new RangeError('no samples');
  return value;
}
