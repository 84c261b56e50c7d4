import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  forEachPackedDatagram,
  packDatagrams,
  packedDatagramsViolation,
  packedRecordBytes,
  PACKED_RECORD_HEADER_BYTES,
  unpackDatagrams,
} from './datagram-packing';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** A record header: data length (u32be) and traceparent length (u8). */
function header(dataBytes: number, traceBytes: number): Buffer {
  const bytes = Buffer.alloc(PACKED_RECORD_HEADER_BYTES);
  bytes.writeUInt32BE(dataBytes, 0);
  bytes[4] = traceBytes;
  return bytes;
}

function reasonOf(payload: Buffer): string {
  const result = unpackDatagrams(payload);
  assert.equal(result.ok, false, 'refused');
  return result.ok ? '' : result.reason;
}

describe('packed datagram entries', () => {
  it('keeps every datagram whole and in order, empty ones included, each with its own trace context', () => {
    const datagrams = [
      { data: Buffer.from('first'), traceparent: TRACEPARENT },
      { data: Buffer.alloc(0) },
      { data: Buffer.from([0, 1, 2, 255]) },
      { data: Buffer.from('last, with a 00-looking body: 00-'), traceparent: TRACEPARENT.replace('01', '00') },
    ];
    const payload = packDatagrams(datagrams);
    const expectedBytes = datagrams.reduce((sum, d) => sum + packedRecordBytes(d.data.length, d.traceparent), 0);
    assert.equal(payload.length, expectedBytes);
    const result = unpackDatagrams(payload);
    assert.ok(result.ok);
    assert.deepEqual(
      result.datagrams.map((d) => ({ data: d.data.toString('hex'), traceparent: d.traceparent })),
      datagrams.map((d) => ({ data: d.data.toString('hex'), traceparent: d.traceparent })),
    );
  });

  it('counts 5 header bytes and the traceparent per record, and drops a trace context that cannot be carried', () => {
    assert.equal(packedRecordBytes(64, undefined), 69);
    assert.equal(packedRecordBytes(64, TRACEPARENT), 69 + 55);
    assert.equal(packedRecordBytes(64, 'x'.repeat(256)), 69);
    const result = unpackDatagrams(packDatagrams([{ data: Buffer.from('a'), traceparent: 'bad\ncontext' }]));
    assert.ok(result.ok);
    assert.equal(result.datagrams[0].traceparent, undefined);
  });

  it('refuses an empty entry', () => {
    assert.equal(reasonOf(Buffer.alloc(0)), 'it holds no datagram');
  });

  it('refuses a record cut inside its header, naming where', () => {
    const payload = Buffer.concat([packDatagrams([{ data: Buffer.from('ok') }]), Buffer.from([0, 0, 1])]);
    assert.equal(reasonOf(payload), 'record 2 at byte 7 is cut short: 3 bytes left, its header takes 5');
  });

  it('refuses a record that declares more bytes than the entry holds', () => {
    const payload = Buffer.concat([header(100, 0), Buffer.alloc(10)]);
    assert.equal(
      reasonOf(payload),
      'record 1 at byte 0 declares 100 data bytes and a 0-byte trace context, 105 bytes in all, but only 15 remain',
    );
    // A length near 2^32 must not wrap around into something that seems to fit.
    assert.match(reasonOf(Buffer.concat([header(0xffffffff, 255), Buffer.alloc(300)])), /4294967295 data bytes/);
  });

  it('refuses a trace context that is not printable ASCII', () => {
    const payload = Buffer.concat([header(1, 3), Buffer.from([0x41, 0x0a, 0x42]), Buffer.from('x')]);
    assert.equal(reasonOf(payload), 'record 1 at byte 0 has a trace context that is not printable ASCII');
  });

  it('refuses a trace context with a byte just outside printable ASCII, space and DEL included', () => {
    for (const bad of [0x20, 0x7f, 0x80, 0x00]) {
      const payload = Buffer.concat([header(1, 3), Buffer.from([0x41, bad, 0x42]), Buffer.from('x')]);
      assert.equal(
        packedDatagramsViolation(payload),
        'record 1 at byte 0 has a trace context that is not printable ASCII',
      );
    }
    const edges = Buffer.concat([header(1, 2), Buffer.from([0x21, 0x7e]), Buffer.from('x')]);
    assert.equal(packedDatagramsViolation(edges), undefined);
  });

  it('visits each datagram of an accepted payload as a view, in order, and stops when told to', () => {
    const payload = packDatagrams([
      { data: Buffer.from('one'), traceparent: TRACEPARENT },
      { data: Buffer.from('two') },
      { data: Buffer.from('three') },
    ]);
    assert.equal(packedDatagramsViolation(payload), undefined);
    const seen: [string, string | undefined][] = [];
    forEachPackedDatagram(payload, (data, traceparent) => {
      seen.push([data.toString(), traceparent]);
      assert.equal(data.buffer, payload.buffer, 'a view into the payload, not a copy');
      return seen.length < 2;
    });
    assert.deepEqual(seen, [
      ['one', TRACEPARENT],
      ['two', undefined],
    ]);
  });
});
