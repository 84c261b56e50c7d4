import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  elapsedMicros32,
  readTlabHeader,
  TLAB_HEADER_BYTES,
  TLAB_MAGIC,
  type TlabHeader,
  writeTlabHeader,
} from './tlab-header';

const blank = (): TlabHeader => ({ source: 0, flow: 0, seq: 0, sentUs: 0 });

describe('the TLAB payload header', () => {
  it('round-trips every field at any offset, big-endian after the magic "TLAB"', () => {
    const header = { source: 0x0a0b0c0d, flow: 55_535, seq: 0xffffffff, sentUs: 123_456_789 };
    const payload = Buffer.alloc(7 + TLAB_HEADER_BYTES + 5, 0xee);
    writeTlabHeader(payload, 7, header);
    assert.equal(payload.subarray(7, 11).toString('latin1'), 'TLAB');
    assert.equal(payload.readUInt32BE(7), TLAB_MAGIC);
    assert.equal(payload.readUInt32BE(11), 0x0a0b0c0d);
    assert.equal(payload[6], 0xee, 'nothing written before the offset');
    assert.equal(payload[7 + TLAB_HEADER_BYTES], 0xee, 'nothing written after the header');
    const read = blank();
    assert.equal(readTlabHeader(payload, 7, payload.length - 7, read), true);
    assert.deepEqual(read, header);
  });

  it('refuses a payload that is too short or lacks the magic', () => {
    const payload = Buffer.alloc(TLAB_HEADER_BYTES);
    writeTlabHeader(payload, 0, { source: 1, flow: 2, seq: 3, sentUs: 4 });
    assert.equal(readTlabHeader(payload, 0, TLAB_HEADER_BYTES - 1, blank()), false, 'declared length too short');
    assert.equal(readTlabHeader(payload, 1, TLAB_HEADER_BYTES, blank()), false, 'runs past the buffer');
    assert.equal(readTlabHeader(payload, -1, TLAB_HEADER_BYTES, blank()), false, 'no payload');
    payload[0] = 0x55;
    assert.equal(readTlabHeader(payload, 0, TLAB_HEADER_BYTES, blank()), false, 'wrong magic');
  });

  it('measures elapsed µs across the 32-bit wrap of the clock, and refuses a send time in the future', () => {
    assert.equal(elapsedMicros32(100, 350), 250);
    assert.equal(elapsedMicros32(0xffffff00, 0x100), 0x200);
    assert.equal(elapsedMicros32(350, 100), undefined);
  });
});
