import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENTRY_KINDS, type RingEntry } from './ring-entry';
import { ringCapacityViolation } from './ring-reader';

const capacity = { entries: 4, bytes: 1000 };
const data = (bytes: number): RingEntry => ({ id: '1-0', kind: ENTRY_KINDS.data, payload: Buffer.alloc(bytes) });

describe('ringCapacityViolation', () => {
  it('accepts a ring at its capacity, plus FIN and RST, which are exempt from credit', () => {
    assert.equal(ringCapacityViolation(capacity, 6, [data(250), data(250), data(250), data(250)]), undefined);
  });

  it('names a ring holding more unread entries than its capacity, plus FIN and RST', () => {
    assert.match(
      ringCapacityViolation(capacity, 7, [data(1)]) ?? '',
      /^ring holds 7 unread entries, over its capacity of 4 \(\+ FIN and RST\): the writer ignores its credit$/,
    );
  });

  it('names unread payload over the capacity in bytes, from what one read returns', () => {
    assert.match(
      ringCapacityViolation(capacity, 2, [data(600), data(401)]) ?? '',
      /^ring holds at least 1001 unread payload bytes, over its capacity of 1000/,
    );
  });
});
