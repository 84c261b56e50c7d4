import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIVE_WINDOW_MS, SourceRateLimiter } from './source-rate-limiter';

const LIMIT = {
  bytesPerSecond: 1000,
  burstBytes: 4000,
  requestCostBytes: 100,
  maxSources: 3,
  // Far above what these sources send: the per-source tests do not meet the global cap.
  globalBytesPerSecond: 1_000_000,
  globalBurstBytes: 1_000_000,
};

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

  describe('the global cap (all VMs together)', () => {
    // Each VM alone could send 1000 B/s; together they get 1000 B/s, as Jaeger is given at most.
    const CAPPED = { ...LIMIT, maxSources: 10, globalBytesPerSecond: 1000, globalBurstBytes: 4000 };
    /** An export of 400 bytes (500 with the request cost), tried every `everyMs` by each sender from `fromMs`. */
    function run(
      limiter: SourceRateLimiter,
      clock: { now: number },
      senders: { vm: string; everyMs: number; fromMs?: number; untilMs?: number }[],
      durationMs: number,
    ): { taken: Map<string, number>; log: [number, number][] } {
      const taken = new Map(senders.map(({ vm }) => [vm, 0]));
      const log: [number, number][] = [];
      for (let t = 0; t < durationMs; t += 1) {
        clock.now = t;
        for (const { vm, everyMs, fromMs = 0, untilMs = Infinity } of senders) {
          if (t < fromMs || t >= untilMs || (t - fromMs) % everyMs !== 0) continue;
          if (limiter.take(vm, 400) === 0) {
            taken.set(vm, taken.get(vm)! + 500);
            log.push([t, 500]);
          }
        }
      }
      return { taken, log };
    }

    it('gives two VMs exporting flat out equal shares of the global cap', () => {
      const clock = { now: 0 };
      const limiter = new SourceRateLimiter(CAPPED, () => clock.now);
      const { taken } = run(
        limiter,
        clock,
        [
          { vm: 'vm-a1', everyMs: 10 },
          { vm: 'vm-b1', everyMs: 7 },
        ],
        100_000,
      );
      const [a, b] = [taken.get('vm-a1')!, taken.get('vm-b1')!];
      // 100 s at 1000 B/s shared by two: about 50 000 each, within a burst (and a request) of each other.
      assert.ok(Math.abs(a - b) <= CAPPED.burstBytes + 500, `a1 ${a}, b1 ${b}`);
      assert.ok(a + b <= CAPPED.globalBurstBytes + 100 * CAPPED.globalBytesPerSecond, `together ${a + b}`);
      assert.ok(a + b >= 0.95 * 100 * CAPPED.globalBytesPerSecond, `the cap is used: ${a + b}`);
    });

    it('refuses the VM over its fair share and not the one under it', () => {
      const clock = { now: 0 };
      const limiter = new SourceRateLimiter(CAPPED, () => clock.now);
      // a1 exports flat out; b1 at 300 B/s, under its fair share (500 B/s): b1 is never refused, a1 gets the rest.
      const { taken } = run(
        limiter,
        clock,
        [
          { vm: 'vm-a1', everyMs: 10 },
          { vm: 'vm-b1', everyMs: 1667, fromMs: 5 },
        ],
        100_000,
      );
      const attemptsOfB = Math.ceil((100_000 - 5) / 1667);
      assert.equal(taken.get('vm-b1'), attemptsOfB * 500, 'every export of the VM under its share is taken');
      assert.ok(taken.get('vm-a1')! >= 100 * 1000 - attemptsOfB * 500 - 2 * CAPPED.burstBytes, `${taken.get('vm-a1')}`);
    });

    it("lets one VM use an idle VM's share", () => {
      const clock = { now: 0 };
      const limiter = new SourceRateLimiter(CAPPED, () => clock.now);
      // b1 exports for the first 20 s, then is idle; a1 exports flat out throughout.
      const { log } = run(
        limiter,
        clock,
        [
          { vm: 'vm-a1', everyMs: 10 },
          { vm: 'vm-b1', everyMs: 10, untilMs: 20_000 },
        ],
        60_000,
      );
      const runAlone = new SourceRateLimiter(CAPPED, () => clock.now);
      const aAlone = run(runAlone, clock, [{ vm: 'vm-a1', everyMs: 10 }], 60_000).log;
      const after = (entries: [number, number][]): number =>
        entries.filter(([t]) => t >= 20_000 + ACTIVE_WINDOW_MS + 5000).reduce((sum, [, bytes]) => sum + bytes, 0);
      // From a few seconds after b1 went quiet, a1 alone gets the whole cap, as if b1 had never been there.
      assert.ok(after(log) >= 0.95 * after(aAlone), `${after(log)} of ${after(aAlone)}`);
      assert.ok(after(log) >= 0.95 * 34 * CAPPED.globalBytesPerSecond, `${after(log)}`);
    });

    it('never forwards more than the cap over any window, however many VMs export at once', () => {
      const clock = { now: 0 };
      const limiter = new SourceRateLimiter(CAPPED, () => clock.now);
      const senders = Array.from({ length: 10 }, (_, i) => ({ vm: `vm-${i}`, everyMs: 3 + i, fromMs: i * 997 }));
      const { log } = run(limiter, clock, senders, 30_000);
      // Every window [start, start + T): at most the global burst plus T at the global rate.
      for (const windowMs of [1, 100, 1000, 10_000]) {
        let sum = 0;
        let first = 0;
        for (const [t, bytes] of log) {
          sum += bytes;
          while (log[first][0] <= t - windowMs) sum -= log[first++][1];
          const bound = CAPPED.globalBurstBytes + (windowMs / 1000) * CAPPED.globalBytesPerSecond;
          assert.ok(sum <= bound, `${sum} bytes in ${windowMs} ms up to ${t} (bound ${bound})`);
        }
      }
      assert.ok(log.length > 0);
    });
  });
});
