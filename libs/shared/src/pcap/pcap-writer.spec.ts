import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pcapFile } from './pcap-writer';

describe('pcapFile', () => {
  it('writes the classic libpcap format: global header, then a header and the bytes of each frame', () => {
    const first = Buffer.from('0102030405', 'hex');
    const second = Buffer.alloc(64, 0xab);
    const file = pcapFile(
      [
        { timestampUs: 1_790_000_000_123_456, bytes: first, originalLength: 5 },
        { timestampUs: 1_790_000_001_000_001, bytes: second, originalLength: 1500 },
      ],
      64,
    );
    assert.equal(file.readUInt32LE(0), 0xa1b2c3d4, 'magic: microsecond timestamps, little-endian');
    assert.deepEqual([file.readUInt16LE(4), file.readUInt16LE(6)], [2, 4]);
    assert.equal(file.readUInt32LE(16), 64, 'snap length');
    assert.equal(file.readUInt32LE(20), 1, 'link type Ethernet');
    let at = 24;
    const records: { sec: number; usec: number; caplen: number; len: number; bytes: Buffer }[] = [];
    while (at < file.length) {
      const caplen = file.readUInt32LE(at + 8);
      records.push({
        sec: file.readUInt32LE(at),
        usec: file.readUInt32LE(at + 4),
        caplen,
        len: file.readUInt32LE(at + 12),
        bytes: file.subarray(at + 16, at + 16 + caplen),
      });
      at += 16 + caplen;
    }
    assert.equal(at, file.length, 'records fill the file exactly');
    assert.deepEqual(
      records.map(({ sec, usec, caplen, len }) => [sec, usec, caplen, len]),
      [
        [1_790_000_000, 123_456, 5, 5],
        [1_790_000_001, 1, 64, 1500],
      ],
    );
    assert.ok(records[0].bytes.equals(first) && records[1].bytes.equals(second));
  });
});
