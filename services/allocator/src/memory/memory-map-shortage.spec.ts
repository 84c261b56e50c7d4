import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsufficientCapacityError } from './insufficient-capacity.error';
import { MemoryMap } from './memory-map';

describe('MemoryMap shortage report', () => {
  it('names the largest free range, not the first, when a register does not fit', () => {
    const map = new MemoryMap(1, 100);
    map.allocate('t1', 'p', [{ name: 'a', width: 32, size: 10 }]);
    map.allocate('t2', 'q', [{ name: 'b', width: 32, size: 5 }]);
    map.allocate('t3', 'r', [{ name: 'c', width: 32, size: 10 }]);
    map.free('t2'); // free: cells 10-14 (5), then 25-99 (75)
    assert.throws(
      () => map.allocate('t4', 's', [{ name: 'd', width: 32, size: 80 }]),
      (error: unknown) =>
        error instanceof InsufficientCapacityError &&
        error.shortages[0] === 'register s.d needs 80 contiguous cells; the largest free range is 75 (stage 0)',
    );
  });
});
