import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImpairmentSpec } from '@tenantlab/shared';
import { type ImpairmentFate, PortImpairment, REORDER_WAIT_MS } from './port-impairment';

/** Offers frames 0..n-1, `gapMs` apart from t = 0, releasing as it goes; returns each frame's fate and leave time. */
function run(
  spec: ImpairmentSpec,
  n: number,
  gapMs = 1,
  limits?: { frames: number; bytes: number },
): { fates: ImpairmentFate[]; left: [number, number][] } {
  const element = new PortImpairment<number>(spec, limits);
  const fates: ImpairmentFate[] = [];
  const left: [number, number][] = [];
  const out: number[] = [];
  const drain = (now: number): void => {
    element.release(now, out);
    for (const frame of out) left.push([frame, now]);
    out.length = 0;
  };
  // The clock moves in steps of at most 0.25 ms, releasing at each, as the data path's loop would.
  let now = 0;
  for (let i = 0; i < n; i++) {
    for (; now < i * gapMs; now = Math.min(i * gapMs, now + 0.25)) drain(now);
    drain(now);
    fates.push(element.offer(i, 100, now));
  }
  for (; element.nextDue() !== undefined; now += 0.25) drain(now);
  return { fates, left };
}

describe('PortImpairment', () => {
  it('makes the same decisions for the same seed and frames, and others for another seed', () => {
    const spec = { lossRate: 0.2, jitterMs: 3, delayMs: 5, reorderRate: 0.1 };
    const first = run({ ...spec, seed: 7 }, 2000);
    const again = run({ ...spec, seed: 7 }, 2000);
    const other = run({ ...spec, seed: 8 }, 2000);
    assert.deepEqual(again, first);
    assert.notDeepEqual(other.fates, first.fates);
  });

  it('loses the share of frames its lossRate says, within 3 standard deviations, counted as impaired-loss', () => {
    const n = 100_000;
    const p = 0.01;
    const { fates } = run({ lossRate: p, seed: 42 }, n, 0.01);
    const lost = fates.filter((fate) => fate === 'impaired-loss').length;
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(lost - n * p) <= 3 * sd, `lost ${lost} of ${n}, expected ${n * p} ± ${3 * sd}`);
    assert.ok(lost > 0);
    assert.equal(run({ lossRate: 1 }, 100).fates.filter((fate) => fate === 'held').length, 0, 'loss 1 loses all');
  });

  it('holds each frame its delay, in order, with jitter within its bounds and no frame overtaking another', () => {
    const delayed = run({ delayMs: 5 }, 100);
    assert.deepEqual(
      delayed.left.map(([frame]) => frame),
      Array.from({ length: 100 }, (_, i) => i),
    );
    for (const [frame, at] of delayed.left) assert.equal(at, frame + 5, `frame ${frame} left at ${at}`);
    const jittered = run({ delayMs: 5, jitterMs: 2, seed: 3 }, 1000, 10);
    const delays = jittered.left.map(([frame, at]) => at - frame * 10);
    assert.ok(
      Math.min(...delays) >= 3 && Math.max(...delays) <= 7.25,
      `${Math.min(...delays)}..${Math.max(...delays)}`,
    );
    assert.ok(new Set(delays).size > 5, 'the delays vary');
    assert.deepEqual(
      jittered.left.map(([frame]) => frame),
      Array.from({ length: 1000 }, (_, i) => i),
      'jitter keeps the order',
    );
  });

  it('spaces departures 1/rate apart, and drops beyond its queue bound in frames or bytes as impaired-queue-full', () => {
    // 100 frames at once into a 1000 frames/s port: one per ms.
    const element = new PortImpairment<number>({ rateFramesPerSecond: 1000 });
    for (let i = 0; i < 100; i++) assert.equal(element.offer(i, 64, 0), 'held');
    const out: number[] = [];
    element.release(0, out);
    assert.deepEqual(out, [0]);
    element.release(49.5, out);
    assert.equal(out.length, 50);
    element.release(99, out);
    assert.deepEqual(
      out,
      Array.from({ length: 100 }, (_, i) => i),
    );
    const byFrames = new PortImpairment<number>({ rateFramesPerSecond: 10 }, { frames: 20, bytes: 1e9 });
    const fates = Array.from({ length: 50 }, (_, i) => byFrames.offer(i, 64, 0));
    assert.equal(fates.filter((fate) => fate === 'held').length, 20);
    assert.equal(fates.filter((fate) => fate === 'impaired-queue-full').length, 30);
    assert.equal(byFrames.counts.queueFull, 30);
    const byBytes = run({ delayMs: 100 }, 50, 0, { frames: 1e9, bytes: 1000 });
    assert.equal(byBytes.fates.filter((fate) => fate === 'held').length, 10, '10 frames of 100 bytes fit in 1000');
    assert.equal(byBytes.left.length, 10);
  });

  it("holds at most the README's 65 536 frames or 64 MiB a port by default, then drops as impaired-queue-full", () => {
    const byFrames = new PortImpairment<number>({ rateFramesPerSecond: 1 });
    let held = 0;
    for (let i = 0; i < 65_537; i++) if (byFrames.offer(i, 64, 0) === 'held') held += 1;
    assert.deepEqual([held, byFrames.counts.queueFull], [65_536, 1]);
    const byBytes = new PortImpairment<number>({ rateFramesPerSecond: 1 });
    const fates = Array.from({ length: 65 }, (_, i) => byBytes.offer(i, 1024 * 1024, 0));
    assert.deepEqual([fates.filter((fate) => fate === 'held').length, byBytes.counts.queueFull], [64, 1]);
  });

  it('swaps a reordered frame with the one after it, or lets it go alone after REORDER_WAIT_MS', () => {
    const { left, fates } = run({ reorderRate: 0.3, seed: 5 }, 1000, 0.01);
    assert.equal(fates.filter((fate) => fate !== 'held').length, 0);
    const order = left.map(([frame]) => frame);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
      'every frame leaves once',
    );
    const swaps = order.filter((frame, i) => i > 0 && frame < (order[i - 1] ?? 0)).length;
    assert.ok(swaps > 200 && swaps < 400, `${swaps} frames came after a later one`);
    const alone = new PortImpairment<string>({ reorderRate: 1 });
    alone.offer('only', 10, 0);
    const out: string[] = [];
    alone.release(REORDER_WAIT_MS - 1, out);
    assert.deepEqual(out, [], 'waits for a frame to swap with');
    alone.release(REORDER_WAIT_MS, out);
    assert.deepEqual(out, ['only']);
  });

  it('gives up everything it holds, in order and with due times, to takeAll (and a replacement adopts it)', () => {
    const element = new PortImpairment<number>({ delayMs: 50 });
    for (let i = 0; i < 5; i++) element.offer(i, 10, i);
    assert.deepEqual(element.held(), { frames: 5, bytes: 50 });
    const next = new PortImpairment<number>({});
    next.adopt(element.takeAll());
    assert.deepEqual(element.held(), { frames: 0, bytes: 0 });
    next.offer(5, 10, 10);
    const out: number[] = [];
    next.release(49, out);
    assert.deepEqual(out, [], 'the new frame waits behind the adopted ones');
    next.release(54, out);
    assert.deepEqual(out, [0, 1, 2, 3, 4, 5]);
  });
});
