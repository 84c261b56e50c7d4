import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceRateLimiter } from './source-rate-limiter';

const LIMIT = { bytesPerSecond: 1000, burstBytes: 4000, requestCostBytes: 100, maxSources: 3 };

describe('SourceRateLimiter', () => {
  it("holds one source to its rate without touching another's share", () => {
    let now = 0;
    const limiter = new SourceRateLimiter(LIMIT, () => now);
    // The burst: four 900-byte exports (1000 with the request cost), then the fifth waits.
    for (let i = 0; i < 4; i++) assert.equal(limiter.take('vm-a1', 900), 0, `export ${i}`);
    assert.equal(limiter.take('vm-a1', 900), 1);
    // Another VM is untouched by the first one's flood.
    assert.equal(limiter.take('vm-b1', 900), 0);
    now += 1000;
    assert.equal(limiter.take('vm-a1', 900), 0, 'a second later, one more');
    assert.equal(limiter.take('vm-a1', 900), 1);
  });

  it('counts a request even when its body is empty, and says how long a big one waits', () => {
    const limiter = new SourceRateLimiter(LIMIT, () => 0);
    for (let i = 0; i < 40; i++) assert.equal(limiter.take('vm-a1', 0), 0);
    assert.equal(limiter.take('vm-a1', 0), 1);
    assert.equal(limiter.take('vm-a1', 2900), 3);
  });

  it('remembers at most maxSources, forgetting idle (full) buckets first', () => {
    let now = 0;
    const limiter = new SourceRateLimiter(LIMIT, () => now);
    limiter.take('busy', 3900);
    limiter.take('idle-1', 0);
    limiter.take('idle-2', 0);
    now += 100; // the idle ones refill to full; `busy` does not
    for (let i = 0; i < 100; i++) limiter.take(`made-up-${i}`, 0);
    assert.ok(limiter.size <= LIMIT.maxSources, `${limiter.size} sources held`);
  });

  it('keeps a drained source drained while others come and go within the bound', () => {
    let now = 0;
    const limiter = new SourceRateLimiter({ ...LIMIT, maxSources: 2 }, () => now);
    assert.equal(limiter.take('busy', 3900), 0);
    now += 10;
    limiter.take('other', 0);
    now += 10; // `other` refilled, so it is the one forgotten for `third`
    limiter.take('third', 0);
    assert.equal(limiter.size, 2);
    assert.equal(limiter.take('busy', 900), 1, 'still drained');
  });
});
