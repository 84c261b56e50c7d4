import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_FRAMES_PER_ENTRY,
  packableFrameBytes,
  packablePortTraceparent,
  packedFrameBytes,
  packPortFrames,
  portEntryContent,
  PORT_RECORD_HEADER_BYTES,
  unpackPortFrames,
} from './port-frames';
import { MAX_FRAME_BYTES } from './port-keys';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** A record header: frame length (u16be) and traceparent length (u8). */
function header(frameBytes: number, traceBytes: number): Buffer {
  const bytes = Buffer.alloc(PORT_RECORD_HEADER_BYTES);
  bytes.writeUInt16BE(frameBytes, 0);
  bytes[2] = traceBytes;
  return bytes;
}

describe('packed port frames (issue 11)', () => {
  it('round-trips frames in order, each with its own traceparent or none', () => {
    const frames = [
      { frame: Buffer.from('first'), traceparent: TRACEPARENT },
      { frame: Buffer.alloc(0) },
      { frame: Buffer.alloc(MAX_FRAME_BYTES, 7) },
    ];
    const payload = packPortFrames(frames);
    assert.equal(
      payload.length,
      frames.reduce((n, f) => n + packedFrameBytes(f.frame.length, f.traceparent), 0),
    );
    // A packer that looks each traceparent up once sizes the same payload.
    assert.equal(
      payload.length,
      frames.reduce((n, f) => n + packableFrameBytes(f.frame.length, packablePortTraceparent(f.traceparent)), 0),
    );
    const { frames: back, problem } = unpackPortFrames(payload);
    assert.equal(problem, undefined);
    assert.deepEqual(
      back.map((f) => [f.frame.toString('hex'), f.traceparent]),
      frames.map((f) => [f.frame.toString('hex'), f.traceparent]),
    );
  });

  it('keeps the frames before a record cut short and refuses the rest as one frame, with where and why', () => {
    const good = packPortFrames([{ frame: Buffer.from('good') }]);
    const cut = Buffer.concat([header(100, 0), Buffer.alloc(10)]);
    const { frames, problem } = unpackPortFrames(Buffer.concat([good, cut]));
    assert.deepEqual(
      frames.map((f) => f.frame.toString()),
      ['good'],
    );
    assert.deepEqual(problem, {
      reason: 'entry-malformed',
      detail: `record 2 at byte ${good.length} needs 103 bytes, 13 left`,
      count: 1,
      bytes: 13,
    });
    const stub = unpackPortFrames(Buffer.concat([good, Buffer.from([0])]));
    assert.equal(stub.frames.length, 1);
    assert.equal(stub.problem?.reason, 'entry-malformed');
    assert.equal(unpackPortFrames(Buffer.alloc(0)).problem?.reason, 'entry-malformed');
  });

  it('refuses an entry of more than MAX_FRAMES_PER_ENTRY frames whole, counting it as MAX_FRAMES_PER_ENTRY + 1', () => {
    const many = Array.from({ length: MAX_FRAMES_PER_ENTRY + 1 }, () => ({ frame: Buffer.from('x') }));
    const { frames, problem } = unpackPortFrames(packPortFrames(many));
    assert.equal(frames.length, 0);
    assert.equal(problem?.reason, 'entry-over-frames');
    assert.equal(problem?.count, MAX_FRAMES_PER_ENTRY + 1);
    const atBound = unpackPortFrames(packPortFrames(many.slice(1)));
    assert.equal(atBound.frames.length, MAX_FRAMES_PER_ENTRY);
    assert.equal(atBound.problem, undefined);
    // A hostile entry of 3 000 empty records (9 000 bytes): the walk stops past the limit, the entry refused whole
    // and counted as the tx-read script counts it when it drops it over the tx bound.
    const empty = unpackPortFrames(Buffer.alloc(9000));
    assert.deepEqual(
      [empty.frames.length, empty.problem?.reason, empty.problem?.count],
      [0, 'entry-over-frames', MAX_FRAMES_PER_ENTRY + 1],
    );
    // Cut short right after the limit, or long after it: the same count.
    const cutAtLimit = unpackPortFrames(Buffer.alloc((MAX_FRAMES_PER_ENTRY + 1) * 3 - 1));
    assert.equal(cutAtLimit.problem?.count, MAX_FRAMES_PER_ENTRY + 1);
    assert.equal(unpackPortFrames(Buffer.alloc(9001)).problem?.count, MAX_FRAMES_PER_ENTRY + 1);
  });

  it('drops a traceparent that is not printable ASCII and keeps its frame', () => {
    const payload = Buffer.concat([header(2, 2), Buffer.from([0x00, 0x7f]), Buffer.from('ok')]);
    const { frames, problem } = unpackPortFrames(payload);
    assert.equal(problem, undefined);
    assert.deepEqual(frames, [{ frame: Buffer.from('ok') }]);
  });

  it('reads either entry format from a stream entry, with its sent-at stamp', () => {
    const single = portEntryContent([
      Buffer.from('f'),
      Buffer.from('one'),
      Buffer.from('t'),
      Buffer.from('1700000000000000'),
    ]);
    assert.deepEqual(
      single.frames.map((f) => f.frame.toString()),
      ['one'],
    );
    assert.equal(single.sentAtUs, 1_700_000_000_000_000);
    const packed = portEntryContent(['m', packPortFrames([{ frame: Buffer.from('a') }, { frame: Buffer.from('b') }])]);
    assert.deepEqual(
      packed.frames.map((f) => f.frame.toString()),
      ['a', 'b'],
    );
    const ledger = portEntryContent(['ledger', '{}']);
    assert.equal(ledger.hasFrames, false);
  });
});
