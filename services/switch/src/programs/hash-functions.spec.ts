import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc16, crc32 } from './hash-functions';

describe('hash functions', () => {
  const check = Buffer.from('123456789');

  it('CRC-32/IEEE gives the catalogue check value', () => {
    assert.equal(crc32(check, check.length), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0), 0), 0);
  });

  it('CRC-16/CCITT-FALSE gives the catalogue check value', () => {
    assert.equal(crc16(check, check.length), 0x29b1);
  });

  it('hashes only the first `length` bytes', () => {
    const padded = Buffer.concat([check, Buffer.from('garbage')]);
    assert.equal(crc32(padded, check.length), 0xcbf43926);
  });
});
