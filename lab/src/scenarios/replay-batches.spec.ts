import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PcapRecord } from '@tenantlab/shared';
import { REPLAY_BATCH_LIMITS, replayLoop, replayRequest } from './replay-batches';

const record = (offsetMs: number, length = 100, fill = 0): PcapRecord => ({
  offsetNs: offsetMs * 1e6,
  bytes: Buffer.alloc(length, fill),
  originalLength: length,
});

describe('replayLoop', () => {
  it('splits at the frame limit, keeping offsets from the replay start, in order', () => {
    const records = Array.from({ length: 7 }, (_, i) => record(i * 10, 100, i));
    const loop = replayLoop(records, 1, { maxFrames: 3, maxBytes: 1e6, maxSpanMs: 1e6 });
    assert.deepEqual(
      loop.batches.map((b) => b.map((f) => f.offsetUs)),
      [[0, 10_000, 20_000], [30_000, 40_000, 50_000], [60_000]],
    );
    assert.deepEqual(
      loop.batches.flat().map((f) => f.bytes[0]),
      [0, 1, 2, 3, 4, 5, 6],
    );
    // 60 ms to the last frame and one mean gap (10 ms) to the next loop.
    assert.equal(loop.periodUs, 70_000);
  });

  it('splits at the byte limit and at the span limit, the span measured in real time at the speed', () => {
    const bySize = replayLoop([record(0, 600), record(1, 600), record(2, 600)], 1, {
      maxFrames: 100,
      maxBytes: 1200,
      maxSpanMs: 1e6,
    });
    assert.deepEqual(
      bySize.batches.map((b) => b.length),
      [2, 1],
    );
    const records = [record(0), record(900), record(1100), record(2500)];
    const limits = { maxFrames: 100, maxBytes: 1e6, maxSpanMs: 1000 };
    // At speed 1: 1100 ms is more than 1 s after the batch's first (0), 2500 more than 1 s after 1100.
    assert.deepEqual(
      replayLoop(records, 1, limits).batches.map((b) => b.length),
      [2, 1, 1],
    );
    // At speed 2 the same 2.5 s of recording lasts 1.25 s: 1 s of real time holds the first three frames.
    assert.deepEqual(
      replayLoop(records, 2, limits).batches.map((b) => b.length),
      [3, 1],
    );
  });

  it('leaves out and counts frames over 9216 bytes; a record stamped before the first goes at 0', () => {
    const loop = replayLoop([record(5, 60), record(6, 9217), record(-3, 60), record(8, 9216)], 1);
    assert.equal(loop.tooLarge, 1);
    assert.deepEqual(
      loop.batches.flat().map((f) => [f.offsetUs, f.bytes.length]),
      [
        [5000, 60],
        [0, 60],
        [8000, 9216],
      ],
    );
  });

  it('keeps each batch within what one POST /traffic/replay may carry', () => {
    assert.deepEqual(REPLAY_BATCH_LIMITS, { maxFrames: 512, maxBytes: 131_072, maxSpanMs: 5000 });
    const records = Array.from({ length: 1200 }, (_, i) => record(i, 64));
    assert.deepEqual(
      replayLoop(records, 1).batches.map((b) => b.length),
      [512, 512, 176],
    );
  });
});

describe('replayRequest', () => {
  const batch = [
    { offsetUs: 1_000_000, bytes: Buffer.from([1, 2]) },
    { offsetUs: 1_500_000, bytes: Buffer.from([3]) },
  ];

  it('times each frame from when the request goes, against the replay start, in recorded µs', () => {
    // 0.9 s after the start at speed 1: the frames are due 100 and 600 ms (recorded) after the request.
    assert.deepEqual(replayRequest(batch, 0, 900_000, { speed: 1 }), {
      frames: [
        { atUs: 100_000, data: Buffer.from([1, 2]).toString('base64') },
        { atUs: 600_000, data: Buffer.from([3]).toString('base64') },
      ],
      speed: 1,
    });
    // At speed 2, 0.45 s of real time is 0.9 s of recording; a second loop adds its offset.
    assert.deepEqual(
      replayRequest(batch, 0, 450_000, { speed: 2, to: 'vm-a2' }).frames.map((f) => f.atUs),
      [100_000, 600_000],
    );
    assert.equal(replayRequest(batch, 0, 0, { speed: 2, to: 'vm-a2' }).to, 'vm-a2');
    assert.deepEqual(
      replayRequest(batch, 2_000_000, 2_900_000, { speed: 1 }).frames.map((f) => f.atUs),
      [100_000, 600_000],
    );
  });

  it('sends a frame already due at once (0), so a late batch catches up instead of drifting', () => {
    assert.deepEqual(
      replayRequest(batch, 0, 1_200_000, { speed: 1 }).frames.map((f) => f.atUs),
      [0, 300_000],
    );
  });
});
