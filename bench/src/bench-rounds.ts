/**
 * The order of `modes` in round `round`: as given in even rounds, reversed in odd ones (A B C, C B A, A B C, ...), so
 * over an even number of rounds every mode runs as often early as late and none always follows the same other.
 */
export function orderOfRound<K>(modes: readonly K[], round: number): K[] {
  return round % 2 === 0 ? [...modes] : [...modes].reverse();
}

/**
 * Runs `measure` once per mode per round, in the order `orderOfRound` gives, and returns each mode's samples in round
 * order. Whatever warm-up a measurement needs belongs inside `measure`, so every mode gets the same.
 */
export async function alternatingRounds<K extends string>(
  rounds: number,
  modes: readonly K[],
  measure: (mode: K, round: number) => Promise<number>,
): Promise<Record<K, number[]>> {
  const samples = Object.fromEntries(modes.map((mode) => [mode, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const mode of orderOfRound(modes, round)) samples[mode].push(await measure(mode, round));
  }
  return samples;
}

/** The middle sample, or the mean of the two middle ones when there is an even number of them. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
