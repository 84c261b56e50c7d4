import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plannedSends, sendsByWindow } from './scenario-traffic';

describe('plannedSends', () => {
  it('sends rate x on-time frames in each on phase and none in the off phases', () => {
    const sends = plannedSends(
      [
        [0, 4000],
        [6000, 8500],
      ],
      7,
      { ratePps: 50, flows: 100, zipf: 1 },
    );
    assert.equal(sends.filter((send) => send.atMs < 4000).length, 200);
    assert.equal(sends.filter((send) => send.atMs >= 4000 && send.atMs < 6000).length, 0);
    // 2.5 s at 50 frames/s: two full runs and a half one.
    assert.equal(sends.filter((send) => send.atMs >= 6000).length, 125);
    assert.ok(sends.every((send) => send.atMs < 8500));
  });

  it('paces a run at the rate from the phase start', () => {
    const sends = plannedSends([[1000, 2000]], 1, { ratePps: 40, flows: 5 });
    assert.deepEqual(
      sends.slice(0, 3).map((send) => send.atMs),
      [1000, 1025, 1050],
    );
  });

  it('draws every flow within the tenant flow count, the low ranks most often (Zipf 1)', () => {
    const flows = 300;
    const sends = plannedSends([[0, 60_000]], 11, { ratePps: 120, flows, zipf: 1 });
    assert.ok(sends.every((send) => Number.isInteger(send.flow) && send.flow >= 0 && send.flow < flows));
    const perFlow = new Array<number>(flows).fill(0);
    for (const send of sends) perFlow[send.flow] += 1;
    // Zipf(1) over 300 flows gives the first 1 / H(300) = 16% of the frames and the last 0.05%.
    const share = perFlow[0] / sends.length;
    assert.ok(share > 0.14 && share < 0.18, `flow 0 had ${share} of the frames`);
    assert.ok(perFlow[0] > 10 * perFlow[flows - 1]);
    assert.ok(perFlow.filter((n) => n > 0).length > flows * 0.9, 'nearly every flow is drawn in a minute');
  });

  it('draws the same flows for a seed and others for another', () => {
    const shape = { ratePps: 80, flows: 1000, zipf: 1 };
    const once = plannedSends([[0, 5000]], 42, shape);
    assert.deepEqual(plannedSends([[0, 5000]], 42, shape), once);
    const other = plannedSends([[0, 5000]], 43, shape);
    assert.notDeepEqual(
      other.map((send) => send.flow),
      once.map((send) => send.flow),
    );
  });

  it('seeds each one-second run as the lab driver does: seed + runs before it', () => {
    const shape = { ratePps: 60, flows: 500, zipf: 1 };
    const twoRuns = plannedSends([[0, 2000]], 100, shape);
    const secondAlone = plannedSends([[1000, 2000]], 101, shape);
    assert.deepEqual(
      twoRuns.slice(60).map((send) => send.flow),
      secondAlone.map((send) => send.flow),
    );
  });

  it('picks flows round robin without a Zipf exponent', () => {
    const sends = plannedSends([[0, 100]], 3, { ratePps: 50, flows: 3 });
    assert.deepEqual(
      sends.map((send) => send.flow),
      [0, 1, 2, 0, 1],
    );
  });
});

describe('sendsByWindow', () => {
  it('puts each send in the window its time falls in and drops those past the last', () => {
    const windows = sendsByWindow(
      [
        { atMs: 0, flow: 1 },
        { atMs: 1999.9, flow: 2 },
        { atMs: 2000, flow: 3 },
        { atMs: 6000, flow: 4 },
      ],
      2000,
      3,
    );
    assert.deepEqual(
      windows.map((sends) => sends.map((send) => send.flow)),
      [[1, 2], [3], []],
    );
  });
});
