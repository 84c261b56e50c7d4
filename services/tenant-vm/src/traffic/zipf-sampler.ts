/**
 * Draws ranks 1..n with Zipf(s) probabilities, P(k) = k^-s / H(n, s), from a given uniform source (mulberry32 for
 * reproducible runs): the skewed flow mix of real traffic, where a few elephant flows carry most packets. One binary
 * search over the cumulative distribution per draw; the table is n doubles.
 */
export class ZipfSampler {
  private readonly cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly exponent: number,
    private readonly random: () => number,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, not ${n}`);
    if (!(exponent > 0) || !Number.isFinite(exponent)) throw new RangeError(`exponent must be > 0, not ${exponent}`);
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      sum += k ** -exponent;
      this.cdf[k - 1] = sum;
    }
    for (let i = 0; i < n; i++) this.cdf[i] /= sum;
    // Rounding must not leave a sliver above the last rank.
    this.cdf[n - 1] = 1;
  }

  /** The probability of rank `k` (1-based). */
  probability(k: number): number {
    return this.cdf[k - 1] - (k > 1 ? this.cdf[k - 2] : 0);
  }

  /** A rank from 1 to n. */
  next(): number {
    const u = this.random();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  }
}
