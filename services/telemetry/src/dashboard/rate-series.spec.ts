import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateSeries } from './rate-series';

describe('RateSeries', () => {
  it('turns totals into per-second rates between samples', () => {
    const series = new RateSeries(60_000);
    series.sample(1000, new Map([['a', 100]]));
    series.sample(3000, new Map([['a', 300]]));
    series.sample(4000, new Map([['a', 350]]));
    assert.deepEqual(series.view(), { t: [3000, 4000], values: { a: [100, 50] } });
  });

  it('starts a counter that appears later with zeros, and never shows a negative rate after a restart', () => {
    const series = new RateSeries(60_000);
    series.sample(0, new Map([['a', 10]]));
    series.sample(1000, new Map([['a', 20]]));
    series.sample(
      2000,
      new Map([
        ['a', 5],
        ['b', 4],
      ]),
    );
    assert.deepEqual(series.view().values, { a: [10, 0], b: [0, 4] });
  });

  it('keeps only the window and forgets a counter that is gone and idle', () => {
    const series = new RateSeries(1000);
    series.sample(
      0,
      new Map([
        ['a', 0],
        ['b', 0],
      ]),
    );
    series.sample(
      1000,
      new Map([
        ['a', 1],
        ['b', 0],
      ]),
    );
    series.sample(2000, new Map([['a', 2]]));
    series.sample(3000, new Map([['a', 4]]));
    assert.deepEqual(series.view(), { t: [2000, 3000], values: { a: [1, 2] } });
  });
});
