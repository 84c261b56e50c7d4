import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '@tenantlab/shared';
import { ZipfSampler } from './zipf-sampler';

/** Frequencies of `draws` samples, index 0 = rank 1. */
function frequencies(sampler: ZipfSampler, draws: number): number[] {
  const counts = new Array<number>(sampler.n).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.next() - 1] += 1;
  return counts;
}

function harmonic(n: number, s: number): number {
  let sum = 0;
  for (let k = 1; k <= n; k++) sum += k ** -s;
  return sum;
}

describe('ZipfSampler', () => {
  it('has the Zipf probabilities: P(k) = k^-s / H(n, s), summing to 1', () => {
    const sampler = new ZipfSampler(100, 1.2, mulberry32(1));
    const h = harmonic(100, 1.2);
    for (const k of [1, 2, 10, 100]) assert.ok(Math.abs(sampler.probability(k) - k ** -1.2 / h) < 1e-12, `P(${k})`);
    let total = 0;
    for (let k = 1; k <= 100; k++) total += sampler.probability(k);
    assert.ok(Math.abs(total - 1) < 1e-12);
  });

  it('draws rank 1 about as often as expected, and the busiest ranks in order, from a fixed seed', () => {
    const draws = 200_000;
    for (const s of [0.8, 1, 1.5]) {
      const sampler = new ZipfSampler(1000, s, mulberry32(42));
      const counts = frequencies(sampler, draws);
      const expected = sampler.probability(1);
      const observed = counts[0] / draws;
      // 5 standard deviations of a binomial share: fails only if the sampler is wrong, not by chance.
      const tolerance = 5 * Math.sqrt((expected * (1 - expected)) / draws);
      assert.ok(Math.abs(observed - expected) < tolerance, `s=${s}: rank-1 share ${observed}, expected ${expected}`);
      for (let k = 1; k < 8; k++) {
        assert.ok(counts[k - 1] > counts[k], `s=${s}: rank ${k} (${counts[k - 1]}) above rank ${k + 1} (${counts[k]})`);
      }
      // Across the whole range the mass per rank only falls: ranks 1-10, 11-100, 101-1000.
      const meanPerRank = (start: number, end: number): number =>
        counts.slice(start, end).reduce((a, b) => a + b, 0) / (end - start);
      const [head, middle, tail] = [meanPerRank(0, 10), meanPerRank(10, 100), meanPerRank(100, 1000)];
      assert.ok(head > middle && middle > tail, `s=${s}: mean per rank ${head} > ${middle} > ${tail}`);
    }
  });

  it('replays the same ranks from the same seed, and other ones from another seed', () => {
    const draw = (seed: number): number[] => {
      const sampler = new ZipfSampler(50, 1, mulberry32(seed));
      return Array.from({ length: 100 }, () => sampler.next());
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
  });

  it('stays within 1..n, even for a uniform source at its extremes', () => {
    const values = [0, 0.999999999999];
    const sampler = new ZipfSampler(3, 1, () => values.shift() ?? 0.5);
    assert.equal(sampler.next(), 1);
    assert.equal(sampler.next(), 3);
    assert.throws(() => new ZipfSampler(0, 1, Math.random), RangeError);
    assert.throws(() => new ZipfSampler(10, 0, Math.random), RangeError);
  });
});
