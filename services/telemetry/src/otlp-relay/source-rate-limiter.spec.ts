import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIVE_WINDOW_MS, RECENT_MS, SourceRateLimiter } from './source-rate-limiter';

const LIMIT = {
  bytesPerSecond: 1000,
  burstBytes: 4000,
  requestCostBytes: 100,
  maxSources: 3,
  // Far above what these sources send: the per-VM tests do not meet the global cap.
  globalBytesPerSecond: 1_000_000,
  globalBurstBytes: 1_000_000,
};

/** A VM as the relay knows it: `vm-a1` is tenant-a's, `vm-b7` tenant-b's. */
function vm(name: string): { vm: string; tenant: string } {
  return { vm: name, tenant: `tenant-${name.slice(3, 4)}` };
}

describe('SourceRateLimiter', () => {
  it("holds one VM to its rate without touching another's share", () => {
    let now = 0;
    const limiter = new SourceRateLimiter(LIMIT, () => now);
    // The burst: four 900-byte exports (1000 with the request cost), then the fifth waits.
    for (let i = 0; i < 4; i++) assert.equal(limiter.take(vm('vm-a1'), 900), 0, `export ${i}`);
    assert.equal(limiter.take(vm('vm-a1'), 900), 1);
    // Another VM is untouched by the first one's flood, of the same tenant or another.
    assert.equal(limiter.take(vm('vm-a2'), 900), 0);
    assert.equal(limiter.take(vm('vm-b1'), 900), 0);
    now += 1000;
    assert.equal(limiter.take(vm('vm-a1'), 900), 0, 'a second later, one more');
    assert.equal(limiter.take(vm('vm-a1'), 900), 1);
  });

  it('counts a request even when its body is empty, and says how long a big one waits', () => {
    const limiter = new SourceRateLimiter(LIMIT, () => 0);
    for (let i = 0; i < 40; i++) assert.equal(limiter.take(vm('vm-a1'), 0), 0);
    assert.equal(limiter.take(vm('vm-a1'), 0), 1);
    assert.equal(limiter.take(vm('vm-a1'), 2900), 3);
  });

  it('remembers at most maxSources VMs and tenants, forgetting idle (full) buckets first', () => {
    let now = 0;
    const limiter = new SourceRateLimiter(LIMIT, () => now);
    limiter.take(vm('busy'), 3900);
    limiter.take(vm('idle-1'), 0);
    limiter.take(vm('idle-2'), 0);
    now += 100; // the idle ones refill to full; `busy` does not
    for (let i = 0; i < 100; i++) limiter.take({ vm: `made-up-${i}`, tenant: `made-up-${i}` }, 0);
    assert.ok(limiter.size <= LIMIT.maxSources, `${limiter.size} VMs held`);
    assert.ok(limiter.tenants <= LIMIT.maxSources, `${limiter.tenants} tenants held`);
  });

  it('keeps a drained VM drained while others come and go within the bound', () => {
    let now = 0;
    const limiter = new SourceRateLimiter({ ...LIMIT, maxSources: 2 }, () => now);
    assert.equal(limiter.take(vm('busy'), 3900), 0);
    now += 10;
    limiter.take(vm('other'), 0);
    now += 10; // `other` refilled, so it is the one forgotten for `third`
    limiter.take(vm('third'), 0);
    assert.equal(limiter.size, 2);
    assert.equal(limiter.take(vm('busy'), 900), 1, 'still drained');
  });

  describe('the global cap (all VMs together), shared per tenant', () => {
    // Each VM alone could send 1000 B/s; together they get 1000 B/s, as Jaeger is given at most.
    const CAPPED = { ...LIMIT, maxSources: 20, globalBytesPerSecond: 1000, globalBurstBytes: 4000 };
    interface Sender {
      vm: string;
      everyMs: number;
      fromMs?: number;
      untilMs?: number;
      /** Sends only while this is true (a sender that pauses). */
      when?: (t: number) => boolean;
    }
    /**
     * An export of 400 bytes (500 with the request cost), tried every `everyMs` by each sender from `fromMs`, through a
     * limiter of its own with the global cap, on a clock from 0. `refused` lists each refusal's time per VM.
     */
    function run(
      senders: Sender[],
      durationMs: number,
    ): { taken: Map<string, number>; refused: Map<string, number[]>; log: [number, number][] } {
      const clock = { now: 0 };
      const limiter = new SourceRateLimiter(CAPPED, () => clock.now);
      const taken = new Map(senders.map((sender) => [sender.vm, 0]));
      const refused = new Map<string, number[]>(senders.map((sender) => [sender.vm, []]));
      const log: [number, number][] = [];
      for (let t = 0; t < durationMs; t += 1) {
        clock.now = t;
        for (const { vm: name, everyMs, fromMs = 0, untilMs = Infinity, when = () => true } of senders) {
          if (t < fromMs || t >= untilMs || (t - fromMs) % everyMs !== 0 || !when(t)) continue;
          if (limiter.take(vm(name), 400) === 0) {
            taken.set(name, taken.get(name)! + 500);
            log.push([t, 500]);
          } else refused.get(name)!.push(t);
        }
      }
      return { taken, refused, log };
    }
    const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

    it("keeps a tenant's debt while other tenants come and go within the bound, forgetting the one owing least", () => {
      let now = 0;
      const limiter = new SourceRateLimiter({ ...CAPPED, maxSources: 2 }, () => now);
      const busy = { vm: 'vm-busy', tenant: 'tenant-busy' };
      // The first export owes nothing; the next three leave the global bucket at its reserve, 2000.
      for (let i = 0; i < 4; i++) assert.equal(limiter.take(busy, 400), 0, `export ${i}`);
      assert.ok(limiter.take(busy, 400) > 0, 'the reserve is not for a tenant in debt');
      assert.equal(limiter.take({ vm: 'vm-other', tenant: 'tenant-other' }, 0), 0);
      now += 100; // tenant-other owes less than tenant-busy: it is the one forgotten for tenant-third
      assert.equal(limiter.take({ vm: 'vm-third', tenant: 'tenant-third' }, 0), 0);
      assert.equal(limiter.tenants, 2);
      assert.ok(limiter.take(busy, 400) > 0, 'still in debt: the reserve is still not for it');
    });

    it('gives two VMs of two tenants exporting flat out equal shares of the global cap', () => {
      const { taken } = run(
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

    it('gives a tenant with sixteen VMs flat out the share of a tenant with one, each VM a sixteenth of it', () => {
      const many = Array.from({ length: 16 }, (_, i) => ({ vm: `vm-a${i}`, everyMs: 10, fromMs: i }));
      const { taken } = run([...many, { vm: 'vm-b1', everyMs: 10, fromMs: 3 }], 100_000);
      const a = sum(many.map(({ vm: name }) => taken.get(name)!));
      const b = taken.get('vm-b1')!;
      // Per VM, tenant B's one VM would get a seventeenth (about 5 900 B); per tenant, half (50 000).
      assert.ok(b >= 0.45 * (a + b), `tenant-b ${b} of ${a + b}`);
      assert.ok(Math.abs(a - b) <= 2 * CAPPED.burstBytes, `tenant-a ${a}, tenant-b ${b}`);
      // Inside tenant A's half, each VM is held to a sixteenth of it (plus its burst): its VMs split the share.
      const bound = CAPPED.burstBytes + (100 * CAPPED.globalBytesPerSecond) / 2 / 16;
      for (const { vm: name } of many) assert.ok(taken.get(name)! <= bound, `${name}: ${taken.get(name)} > ${bound}`);
      assert.ok(a + b <= CAPPED.globalBurstBytes + 100 * CAPPED.globalBytesPerSecond, `together ${a + b}`);
    });

    it("lets a tenant's one VM exporting use its quiet VMs' part, each VM still at most its own rate", () => {
      // Tenant A has 4 VMs; only vm-a1 exports. Tenant B's vm-b1 too. The cap is high: each is held by its own rate.
      const clock = { now: 0 };
      const roomy = { ...CAPPED, globalBytesPerSecond: 3000, globalBurstBytes: 12_000 };
      const limiter = new SourceRateLimiter(roomy, () => clock.now);
      for (const name of ['vm-a2', 'vm-a3', 'vm-a4']) limiter.take(vm(name), 0);
      const taken: Record<string, number> = { 'vm-a1': 0, 'vm-b1': 0 };
      for (clock.now = 2000; clock.now < 62_000; clock.now += 10)
        for (const name of Object.keys(taken))
          if (limiter.take(vm(name), 400) === 0) taken[name] = (taken[name] ?? 0) + 500;
      // Each tenant's share is 1500 B/s, but a VM may send 1000 B/s: 60 s at 1000 B/s, plus its first burst.
      for (const [name, bytes] of Object.entries(taken)) {
        assert.ok(bytes >= 0.95 * 60 * 1000, `${name}: ${bytes}`);
        assert.ok(bytes <= CAPPED.burstBytes + 60 * 1000, `${name}: ${bytes}`);
      }
    });

    it('refuses the VM over its fair share and not the one under it', () => {
      // a1 exports flat out; b1 at 300 B/s, under its fair share (500 B/s): b1 is never refused, a1 gets the rest.
      const { taken } = run(
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

    it('keeps the reserve for a tenant that exports less often than every RECENT_MS, or for the first time', () => {
      // vm-a1 exports flat out throughout; vm-b1 first at 15 s, then once every 12 s: each time it has been quiet
      // for longer than RECENT_MS, so it is not among the tenants seen lately.
      const { refused, taken } = run(
        [
          { vm: 'vm-a1', everyMs: 10 },
          { vm: 'vm-b1', everyMs: RECENT_MS + 2000, fromMs: 15_000 },
        ],
        100_000,
      );
      assert.deepEqual(refused.get('vm-b1'), [], 'vm-b1 refused at these times (ms)');
      assert.equal(taken.get('vm-b1'), 8 * 500);
      assert.ok(taken.get('vm-a1')! >= 0.9 * 100 * 1000, `the flood still gets the rest: ${taken.get('vm-a1')}`);
    });

    /** vm-a1 flat out (an export every ms) for `onMs`, then quiet for `offMs`, and again. */
    function pausing(onMs: number, offMs: number): Sender {
      return { vm: 'vm-a1', everyMs: 1, when: (t) => t % (onMs + offMs) < onMs };
    }
    /** `count` VMs of tenant A taking turns: each flat out for `onMs`, then all quiet for `offMs`, then the next. */
    function rotating(count: number, onMs: number, offMs = 0): Sender[] {
      const period = onMs + offMs;
      return Array.from({ length: count }, (_, i) => ({
        vm: `vm-a${i}`,
        everyMs: 1,
        when: (t: number) => t % period < onMs && Math.floor(t / period) % count === i,
      }));
    }
    // A tenant exporting flat out, as it could try to look under its share to the reserve check.
    const FLOODS: [string, Sender[]][] = [
      ['turns to another of its 16 VMs every second (each one new, then quiet 15 s)', rotating(16, 1000)],
      ['pauses just over ACTIVE_WINDOW_MS after each 5 s', [pausing(5000, ACTIVE_WINDOW_MS + 100)]],
      ['pauses just over RECENT_MS after each 5 s', [pausing(5000, RECENT_MS + 100)]],
      ['turns to another of its 4 VMs after each pause of 2 s', rotating(4, 3000, 2000)],
    ];
    for (const [how, flood] of FLOODS) {
      it(`never lets a tenant that ${how} take the reserve from one exporting now and then`, () => {
        // vm-b1 exports at 250 B/s, half its equal share, from a phase that meets the flood's every turn.
        const { refused, taken } = run([...flood, { vm: 'vm-b1', everyMs: 2000, fromMs: 7 }], 120_000);
        assert.deepEqual(refused.get('vm-b1'), [], 'vm-b1 refused at these times (ms)');
        const a = sum(flood.map(({ vm: name }) => taken.get(name)!));
        assert.ok(a >= 0.3 * 120 * 1000, `the flood was one: ${a}`);
      });
    }

    it("lets one VM use an idle VM's share", () => {
      // b1 exports for the first 20 s, then is idle; a1 exports flat out throughout.
      const { log } = run(
        [
          { vm: 'vm-a1', everyMs: 10 },
          { vm: 'vm-b1', everyMs: 10, untilMs: 20_000 },
        ],
        60_000,
      );
      const aAlone = run([{ vm: 'vm-a1', everyMs: 10 }], 60_000).log;
      const after = (entries: [number, number][]): number =>
        entries.filter(([t]) => t >= 20_000 + ACTIVE_WINDOW_MS + 5000).reduce((total, [, bytes]) => total + bytes, 0);
      // From a few seconds after b1 went quiet, a1 alone gets the whole cap, as if b1 had never been there.
      assert.ok(after(log) >= 0.95 * after(aAlone), `${after(log)} of ${after(aAlone)}`);
      assert.ok(after(log) >= 0.95 * 34 * CAPPED.globalBytesPerSecond, `${after(log)}`);
    });

    it('never forwards more than the cap over any window, however many VMs export at once', () => {
      const senders = Array.from({ length: 10 }, (_, i) => ({
        vm: `vm-${'ab'[i % 2]}${i}`,
        everyMs: 3 + i,
        fromMs: i * 997,
      }));
      const { log } = run(senders, 30_000);
      // Every window [start, start + T): at most the global burst plus T at the global rate.
      for (const windowMs of [1, 100, 1000, 10_000]) {
        let total = 0;
        let first = 0;
        for (const [t, bytes] of log) {
          total += bytes;
          while (log[first][0] <= t - windowMs) total -= log[first++][1];
          const bound = CAPPED.globalBurstBytes + (windowMs / 1000) * CAPPED.globalBytesPerSecond;
          assert.ok(total <= bound, `${total} bytes in ${windowMs} ms up to ${t} (bound ${bound})`);
        }
      }
      assert.ok(log.length > 0);
    });
  });
});
