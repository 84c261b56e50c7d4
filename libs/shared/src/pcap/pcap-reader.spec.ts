import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors';
import { readPcap } from './pcap-reader';
import { pcapFile } from './pcap-writer';

interface HandRecord {
  seconds: number;
  fraction: number;
  bytes: Buffer;
  /** Written as the record's captured length instead of bytes.length, to make broken files. */
  capturedLength?: number;
}

/** A classic pcap file built field by field, so the byte order and magic are the test's own. */
function handBuilt(options: {
  magic?: number;
  littleEndian?: boolean;
  snapLength?: number;
  linkType?: number;
  records?: HandRecord[];
}): Buffer {
  const le = options.littleEndian ?? true;
  const records = options.records ?? [];
  const out = Buffer.alloc(24 + records.reduce((sum, r) => sum + 16 + r.bytes.length, 0));
  const u32 = (value: number, at: number): number => (le ? out.writeUInt32LE(value, at) : out.writeUInt32BE(value, at));
  const u16 = (value: number, at: number): number => (le ? out.writeUInt16LE(value, at) : out.writeUInt16BE(value, at));
  u32(options.magic ?? 0xa1b2c3d4, 0);
  u16(2, 4);
  u16(4, 6);
  u32(options.snapLength ?? 65_535, 16);
  u32(options.linkType ?? 1, 20);
  let at = 24;
  for (const record of records) {
    u32(record.seconds, at);
    u32(record.fraction, at + 4);
    u32(record.capturedLength ?? record.bytes.length, at + 8);
    u32(record.bytes.length, at + 12);
    record.bytes.copy(out, at + 16);
    at += 16 + record.bytes.length;
  }
  return out;
}

const frame = (fill: number, length = 60): Buffer => Buffer.alloc(length, fill);

/** The error readPcap throws for `file`, asserted to be a ValidationError naming the file. */
function problemOf(file: Buffer): string {
  try {
    readPcap(file, 'scenarios/pcaps/x.pcap');
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    assert.match(error.message, /^scenarios\/pcaps\/x\.pcap: /);
    return error.message;
  }
  assert.fail('the file was accepted');
}

describe('readPcap', () => {
  it('reads what pcapFile writes: µs, little-endian, offsets from the first record', () => {
    const file = pcapFile(
      [
        { timestampUs: 1_790_000_000_999_999, bytes: frame(1), originalLength: 60 },
        { timestampUs: 1_790_000_001_000_250, bytes: frame(2, 100), originalLength: 1500 },
      ],
      9216,
    );
    const capture = readPcap(file, 'x.pcap');
    assert.equal(capture.resolution, 'us');
    assert.equal(capture.byteOrder, 'little-endian');
    assert.equal(capture.snapLength, 9216);
    assert.deepEqual(
      capture.records.map((r) => [r.offsetNs, r.bytes.length, r.bytes[0], r.originalLength]),
      [
        [0, 60, 1, 60],
        [251_000, 100, 2, 1500],
      ],
    );
  });

  it('reads big-endian µs files', () => {
    const file = handBuilt({
      littleEndian: false,
      records: [
        { seconds: 10, fraction: 500_000, bytes: frame(7) },
        { seconds: 12, fraction: 1, bytes: frame(8, 64) },
      ],
    });
    const capture = readPcap(file, 'x.pcap');
    assert.equal(capture.byteOrder, 'big-endian');
    assert.equal(capture.resolution, 'us');
    assert.deepEqual(
      capture.records.map((r) => [r.offsetNs, r.bytes[0], r.bytes.length]),
      [
        [0, 7, 60],
        [1_500_001_000, 8, 64],
      ],
    );
  });

  for (const littleEndian of [true, false]) {
    it(`keeps nanosecond resolution (magic a1b23c4d, ${littleEndian ? 'little' : 'big'}-endian)`, () => {
      const file = handBuilt({
        magic: 0xa1b23c4d,
        littleEndian,
        records: [
          { seconds: 1_790_000_000, fraction: 999_999_999, bytes: frame(1) },
          { seconds: 1_790_000_001, fraction: 0, bytes: frame(2) },
          { seconds: 1_790_000_001, fraction: 7, bytes: frame(3) },
        ],
      });
      const capture = readPcap(file, 'x.pcap');
      assert.equal(capture.resolution, 'ns');
      assert.equal(capture.byteOrder, littleEndian ? 'little-endian' : 'big-endian');
      assert.deepEqual(
        capture.records.map((r) => r.offsetNs),
        [0, 1, 8],
      );
    });
  }

  it('reads a file with no records', () => {
    assert.deepEqual(readPcap(handBuilt({}), 'x.pcap').records, []);
  });

  it('refuses pcapng, naming it', () => {
    const file = handBuilt({});
    file.writeUInt32LE(0x0a0d0d0a, 0);
    assert.match(problemOf(file), /pcapng/);
  });

  it('refuses an unknown magic, naming it', () => {
    assert.match(problemOf(handBuilt({ magic: 0x12345678 })), /not a pcap file: magic 0x12345678/);
  });

  it('refuses a link type other than Ethernet, naming it', () => {
    assert.match(problemOf(handBuilt({ linkType: 101 })), /link type 101, but only 1 \(Ethernet\)/);
    assert.match(problemOf(handBuilt({ linkType: 101, littleEndian: false })), /link type 101/);
  });

  it('refuses a file shorter than the global header', () => {
    assert.match(problemOf(handBuilt({}).subarray(0, 20)), /20 bytes is shorter than a pcap global header/);
  });

  it('names the record and byte offset of a truncated record header', () => {
    const file = handBuilt({ records: [{ seconds: 1, fraction: 0, bytes: frame(1) }] });
    // 24 + 16 + 60 = 100: the second record would start there; give it 9 of its 16 header bytes.
    const cut = Buffer.concat([file, Buffer.alloc(9)]);
    assert.match(problemOf(cut), /record 1 at byte 100: truncated header, 9 of 16 bytes/);
  });

  it('names the record and byte offset of truncated record data', () => {
    const file = handBuilt({
      records: [
        { seconds: 1, fraction: 0, bytes: frame(1) },
        { seconds: 1, fraction: 5, bytes: frame(2, 80) },
      ],
    });
    assert.match(problemOf(file.subarray(0, file.length - 30)), /record 1 at byte 100: truncated data, 50 of 80/);
  });

  it('refuses a captured length over the snap length', () => {
    const file = handBuilt({ snapLength: 64, records: [{ seconds: 1, fraction: 0, bytes: frame(1, 65) }] });
    assert.match(problemOf(file), /record 0 at byte 24: captured length 65 is over the file's snap length 64/);
  });

  it('refuses a captured length under an Ethernet header', () => {
    const file = handBuilt({
      records: [
        { seconds: 1, fraction: 0, bytes: frame(1) },
        { seconds: 1, fraction: 0, bytes: frame(2, 13) },
      ],
    });
    assert.match(problemOf(file), /record 1 at byte 100: captured length 13 is under an Ethernet header \(14 bytes\)/);
  });

  it('refuses a sub-second field out of range for the resolution', () => {
    const us = handBuilt({ records: [{ seconds: 1, fraction: 1_000_000, bytes: frame(1) }] });
    assert.match(problemOf(us), /record 0 at byte 24: sub-second field 1000000 is not under 1000000/);
    const ns = handBuilt({ magic: 0xa1b23c4d, records: [{ seconds: 1, fraction: 999_999_999, bytes: frame(1) }] });
    assert.equal(readPcap(ns, 'x.pcap').records.length, 1);
  });
});
