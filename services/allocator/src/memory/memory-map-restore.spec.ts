import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsufficientCapacityError } from './insufficient-capacity.error';
import { MemoryMap } from './memory-map';

// Rebuilding the map at boot from stored page tables: a stored slice that is malformed or collides with another must
// be refused (the stored pipeline does not match this switch), and neighbours that only touch must be accepted.
describe('MemoryMap.restore of stored page tables', () => {
  it('accepts slices that touch a neighbour on either side, and refuses any that share a cell', () => {
    const map = new MemoryMap(1, 100);
    map.restore('t1', 'p', 'mid', { stage: 0, offset: 40, amount: 20 });
    map.restore('t2', 'q', 'below', { stage: 0, offset: 30, amount: 10 });
    map.restore('t3', 'r', 'above', { stage: 0, offset: 60, amount: 10 });
    assert.deepEqual(
      map.view().stages[0].slices.map((s) => [s.tenant, s.offset, s.amount]),
      [
        ['t2', 30, 10],
        ['t1', 40, 20],
        ['t3', 60, 10],
      ],
    );
    // Overlapping the start of a slice from below, its end from above, and lying inside it.
    assert.throws(() => map.restore('t4', 's', 'x', { stage: 0, offset: 25, amount: 6 }), /overlaps register q\.below/);
    assert.throws(() => map.restore('t4', 's', 'x', { stage: 0, offset: 69, amount: 5 }), /overlaps register r\.above/);
    assert.throws(() => map.restore('t4', 's', 'x', { stage: 0, offset: 45, amount: 1 }), /overlaps register p\.mid/);
    assert.equal(map.holds('t4'), false);
  });

  it('names the register and the cells it claims when refusing it', () => {
    const map = new MemoryMap(1, 100);
    map.restore('t1', 'p', 'a', { stage: 0, offset: 0, amount: 50 });
    assert.throws(
      () => map.restore('t2', 'q', 'x', { stage: 0, offset: 40, amount: 10 }),
      /^Error: register q\.x of tenant t2 at stage 0, cells 40-49: overlaps register p\.a of tenant t1$/,
    );
  });

  it('refuses stages and slices that cannot exist', () => {
    const map = new MemoryMap(2, 100);
    const refused: [string, { stage: number; offset: number; amount: number }, RegExp][] = [
      ['negative stage', { stage: -1, offset: 0, amount: 1 }, /stages 0-1/],
      ['fractional stage', { stage: 0.5, offset: 0, amount: 1 }, /stages 0-1/],
      ['negative offset', { stage: 0, offset: -1, amount: 2 }, /not a valid slice/],
      ['fractional offset', { stage: 0, offset: 1.5, amount: 2 }, /not a valid slice/],
      ['fractional amount', { stage: 0, offset: 0, amount: 2.5 }, /not a valid slice/],
      ['empty slice', { stage: 0, offset: 0, amount: 0 }, /not a valid slice/],
    ];
    for (const [what, entry, message] of refused) {
      assert.throws(() => map.restore('t1', 'p', 'a', entry), message, what);
    }
    assert.equal(map.holds('t1'), false);
    // The smallest valid slice, at the last cell of the last stage, is accepted.
    map.restore('t1', 'p', 'a', { stage: 1, offset: 99, amount: 1 });
    assert.equal(map.holds('t1'), true);
  });

  it('counts a tenant as holding memory when its only slice is in a later stage', () => {
    const map = new MemoryMap(2, 100);
    map.restore('t1', 'p', 'a', { stage: 1, offset: 0, amount: 10 });
    assert.equal(map.holds('t1'), true);
    assert.throws(() => map.allocate('t1', 'p', [{ name: 'b', width: 32, size: 5 }]), /free it before allocating/);
  });
});

describe('InsufficientCapacityError', () => {
  it('says what is short and what the tenant can do about it', () => {
    const error = new InsufficientCapacityError('t1', 'p', ['register r needs 10 cells', 'table t needs 2 entries']);
    assert.equal(error.code, 'INSUFFICIENT_CAPACITY');
    assert.deepEqual(error.shortages, ['register r needs 10 cells', 'table t needs 2 entries']);
    assert.match(error.message, /^program p of tenant t1 does not fit the switch: register r needs 10 cells; table t/);
    assert.match(error.message, /Submit a program that asks for less/);
    assert.match(error.message, /the running pipeline is unchanged\.$/);
  });
});
