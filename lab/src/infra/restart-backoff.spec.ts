import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RESTART_BACKOFF, RestartBackoff } from './restart-backoff';

const options = { initialDelayMs: 100, maxDelayMs: 500, stableAfterMs: 10_000, maxQuickCrashes: 4 };

describe('RestartBackoff', () => {
  it('doubles the wait for each quick crash in a row, up to the maximum, then gives up', () => {
    const backoff = new RestartBackoff(options);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => backoff.afterCrash(50)),
      [100, 200, 400, 500, undefined],
    );
  });

  it('starts afresh after a run that lasted long enough to count as healthy', () => {
    const backoff = new RestartBackoff(options);
    backoff.afterCrash(50);
    backoff.afterCrash(50);
    assert.equal(backoff.afterCrash(10_000), 100);
    assert.equal(backoff.afterCrash(9_999), 200);
  });
});

describe('the lab default restart backoff (as the README states it)', () => {
  it('waits 0.5 s, then 1, 2, 4, 8 s, and leaves it down when the fifth restart in a row crashes quickly too', () => {
    const backoff = new RestartBackoff();
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => backoff.afterCrash(1_000)),
      [500, 1_000, 2_000, 4_000, 8_000, undefined],
    );
    assert.equal(DEFAULT_RESTART_BACKOFF.maxDelayMs, 30_000);
  });

  it('counts a crash within 30 s of a start as quick, and starts afresh after a longer run', () => {
    const backoff = new RestartBackoff();
    assert.deepEqual(
      [29_999, 29_999, 29_999].map((ranForMs) => backoff.afterCrash(ranForMs)),
      [500, 1_000, 2_000],
    );
    assert.equal(backoff.afterCrash(30_000), 500);
  });
});
