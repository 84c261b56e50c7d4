import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountFor, findDips, framesLostOf, isSettled, type SeriesRow, toSeries } from './analysis';
import type { Sample } from './collector';
import type { PlannedEvent } from './scenario-plan';

function sample(tMs: number, sent: number, received: number, extra: Partial<Sample['switch']> = {}, lost = 0): Sample {
  return {
    tMs,
    vms: {
      'vm-a1': { sent, received: 0, duplicates: 0, lostInStore: lost, ledgers: 0 },
      'vm-a2': { sent: 0, received, duplicates: 0, lostInStore: 0, ledgers: 0 },
    },
    vmsUp: 2,
    switchUp: true,
    switch: { rxFrames: 0, txFrames: 0, drops: 0, dropsByReason: {}, waitingForCpu: 0, ...extra },
  };
}

const event = (atMs: number, untilMs?: number): PlannedEvent => ({
  index: 0,
  label: `at ${atMs}`,
  atMs,
  ...(untilMs === undefined ? {} : { untilMs }),
  event: { kind: 'kill', atMs, target: 'switch' },
});

/** A series at 1000 frames/s, every 500 ms, with the rate given per interval where `rates` says. */
function series(rates: Record<number, number>, endMs = 20_000): SeriesRow[] {
  const samples: Sample[] = [];
  let total = 0;
  for (let t = 0; t <= endMs; t += 500) {
    total += ((rates[t] ?? 1000) * 500) / 1000;
    samples.push(sample(t, total, total));
  }
  return toSeries(samples);
}

describe('run analysis', () => {
  it('turns cumulative counts into rates per second', () => {
    const rows = toSeries([sample(0, 0, 0), sample(500, 600, 500), sample(1500, 1600, 1500)]);
    assert.deepEqual(
      rows.map((r) => [r.sentPerSecond, r.receivedPerSecond]),
      [
        [0, 0],
        [1200, 1000],
        [1000, 1000],
      ],
    );
  });

  it('finds a dip, its depth and the time until the rate is back at 80% of before', () => {
    const rows = series({ 6000: 0, 6500: 0, 7000: 200, 7500: 700, 8000: 900 });
    const [dip] = findDips(rows, [event(5800)], 20_000);
    assert.equal(dip?.baselinePerSecond, 1000);
    assert.equal(dip?.minimumPerSecond, 0);
    assert.equal(dip?.dipRatio, 0);
    assert.equal(dip?.recoveryMs, 8000 - 5800);
  });

  it('measures recovery from the end of an effect that lasts, and says when it never came back', () => {
    const rows = series({ 6000: 100, 6500: 900, 7000: 900, 7500: 900 });
    assert.equal(findDips(rows, [event(5800, 7200)], 20_000)[0]?.recoveryMs, 7500 - 5800);
    const never = series(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [6000 + i * 500, 0])));
    assert.equal(findDips(never, [event(5800)], 20_000)[0]?.recoveryMs, null);
  });

  it('counts no dip when the rate stays above 80% of before', () => {
    const [dip] = findDips(series({ 6000: 850 }), [event(5800)], 20_000);
    assert.equal(dip?.recoveryMs, 0);
    assert.equal(dip?.minimumPerSecond, (1000 + 850) / 2, 'rates over 1 s: half at 1000, half at 850');
  });

  it('accounts for every frame: sent = received + switch drops + ledger losses, else uncounted', () => {
    const balanced = accountFor(sample(1000, 100, 90, { drops: 6, dropsByReason: { 'no-port': 6 } }, 4));
    assert.deepEqual(
      [balanced.sent, balanced.received, balanced.switchDrops, balanced.lostInStore, balanced.uncounted],
      [100, 90, 6, 4, 0],
    );
    assert.equal(balanced.countedTwice, 0);
    assert.equal(accountFor(sample(1000, 100, 90, { drops: 6 })).uncounted, 4);
    const twice = accountFor(sample(1000, 100, 90, { drops: 6 }, 9));
    assert.deepEqual([twice.uncounted, twice.countedTwice], [0, 5]);
  });

  it('counts frames the switch still holds for want of CPU as waiting, not uncounted, and as not arrived', () => {
    const held = accountFor(sample(1000, 100, 80, { drops: 6, waitingForCpu: 10 }, 4));
    assert.deepEqual([held.waitingForCpu, held.uncounted, held.countedTwice], [10, 0, 0]);
    assert.equal(framesLostOf(held), 20);
    assert.equal(accountFor(sample(1000, 100, 80, { drops: 6, waitingForCpu: 4 }, 4)).uncounted, 6);
    // The drain goes on while frames wait for CPU, as while some are uncounted.
    assert.equal(isSettled(held), false);
    assert.equal(isSettled(accountFor(sample(1000, 100, 90, { drops: 6 }))), false);
    assert.equal(isSettled(accountFor(sample(1000, 100, 90, { drops: 10 }))), true);
  });

  it('gives each VM the store ledger entries it read, frames lost with the store or not', () => {
    const restarted = sample(1000, 100, 100);
    restarted.vms['vm-a2'] = { ...restarted.vms['vm-a2'], ledgers: 1 };
    const accounting = accountFor(restarted);
    assert.deepEqual(accounting.storeLedgersByVm, { 'vm-a1': 0, 'vm-a2': 1 });
    assert.equal(accounting.lostInStore, 0);
  });

  it('counts as lost every frame that did not arrive: switch drops, store losses and uncounted frames', () => {
    assert.equal(framesLostOf(accountFor(sample(1000, 100, 90, { drops: 6 }, 4))), 10);
    assert.equal(framesLostOf(accountFor(sample(1000, 100, 80, { drops: 6 }, 4))), 20, 'with 10 uncounted');
    assert.equal(framesLostOf(accountFor(sample(1000, 100, 100, {}, 0))), 0);
  });
});
