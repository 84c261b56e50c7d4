/**
 * The q-quantile (0..1) of a list by nearest rank (the smallest value with at least q of the list at or below it),
 * null when the list is empty. One definition for the benchmarks' and the scenarios' percentiles, so a p99 in
 * `bench/results` and one in a scenario report are the same statistic.
 */
export function nearestRank(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}

/** A target a figure should reach (from an issue or the paper a benchmark or scenario reproduces), bounds included. */
export interface FigureGoal {
  readonly atLeast?: number;
  readonly atMost?: number;
}

/** Whether `value` meets `goal`: one rule for the benchmarks' and the scenarios' verdicts. */
export function goalMet(value: number, goal: FigureGoal): boolean {
  return (goal.atLeast === undefined || value >= goal.atLeast) && (goal.atMost === undefined || value <= goal.atMost);
}
