import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsufficientCapacityError } from './insufficient-capacity.error';
import { cellsFor, MemoryMap } from './memory-map';

const reg = (name: string, size: number, width = 32): { name: string; width: number; size: number } => ({
  name,
  width,
  size,
});

describe('MemoryMap', () => {
  it('places registers first fit: lowest stage, lowest offset, in declaration order', () => {
    const map = new MemoryMap(2, 1000);
    assert.deepEqual(map.allocate('t1', 'p1', [reg('a', 600), reg('b', 300), reg('c', 200)]), {
      a: { stage: 0, offset: 0, amount: 600 },
      b: { stage: 0, offset: 600, amount: 300 },
      c: { stage: 1, offset: 0, amount: 200 },
    });
    assert.deepEqual(map.allocate('t2', 'p2', [reg('x', 100)]), { x: { stage: 0, offset: 900, amount: 100 } });
    const stage0 = map.view().stages[0];
    assert.deepEqual(
      stage0.slices.map((s) => [s.tenant, s.program, s.register, s.offset, s.amount]),
      [
        ['t1', 'p1', 'a', 0, 600],
        ['t1', 'p1', 'b', 600, 300],
        ['t2', 'p2', 'x', 900, 100],
      ],
    );
    assert.deepEqual(stage0.freeRanges, []);
  });

  it('gives a 128-bit register two cells per entry, and narrower ones one', () => {
    assert.equal(cellsFor({ width: 128, size: 100 }), 200);
    assert.equal(cellsFor({ width: 64, size: 100 }), 100);
    assert.equal(cellsFor({ width: 8, size: 100 }), 100);
    const map = new MemoryMap(1, 1000);
    assert.deepEqual(map.allocate('t1', 'p', [reg('wide', 300, 128), reg('narrow', 300, 64)]), {
      wide: { stage: 0, offset: 0, amount: 600 },
      narrow: { stage: 0, offset: 600, amount: 300 },
    });
    assert.throws(() => map.allocate('t2', 'q', [reg('wide', 51, 128)]), InsufficientCapacityError);
  });

  it('places nothing when one register of the program does not fit, and says what is short', () => {
    const map = new MemoryMap(4, 4096);
    map.allocate('t0', 'fill', [reg('s0', 4096), reg('s1', 4096), reg('s2', 4096), reg('s3', 3072)]);
    const before = map.view();
    assert.throws(
      () => map.allocate('t1', 'hh', [reg('small', 512), reg('cms', 4096)]),
      (error: unknown) =>
        error instanceof InsufficientCapacityError &&
        error.code === 'INSUFFICIENT_CAPACITY' &&
        // `small` took 512 of stage 3's 1024 free cells before `cms` was refused: the message says what is left.
        error.shortages[0] === 'register hh.cms needs 4096 contiguous cells; the largest free range is 512 (stage 3)' &&
        error.message.includes('hh of tenant t1 does not fit'),
    );
    assert.deepEqual(map.view(), before);
    assert.equal(map.holds('t1'), false);
  });

  it('refuses with the message of the seed when the largest range lies in a later stage', () => {
    const map = new MemoryMap(4, 4096);
    map.allocate('t0', 'fill', [reg('s0', 4096), reg('s1', 4096), reg('s2', 4096), reg('s3', 3072)]);
    assert.throws(
      () => map.allocate('t1', 'hh', [reg('cms', 4096)]),
      (error: unknown) =>
        error instanceof InsufficientCapacityError &&
        error.shortages[0] === 'register hh.cms needs 4096 contiguous cells; the largest free range is 1024 (stage 3)',
    );
  });

  it('says so when a register is larger than a whole stage, or nothing is free', () => {
    const map = new MemoryMap(2, 1000);
    assert.throws(
      () => map.allocate('t1', 'p', [reg('huge', 600, 128)]),
      (error: unknown) =>
        error instanceof InsufficientCapacityError &&
        error.shortages[0] ===
          'register p.huge needs 1200 contiguous cells (a stage has 1000 cells); the largest free range is 1000 (stage 0)',
    );
    map.allocate('t1', 'p', [reg('a', 1000), reg('b', 1000)]);
    assert.throws(
      () => map.allocate('t2', 'q', [reg('c', 1)]),
      (error: unknown) =>
        error instanceof InsufficientCapacityError &&
        error.shortages[0] === 'register q.c needs 1 contiguous cells; no register cell is free',
    );
  });

  it('frees all of a tenant slices and reuses the space first fit', () => {
    const map = new MemoryMap(1, 1000);
    map.allocate('t1', 'p1', [reg('a', 200)]);
    map.allocate('t2', 'p2', [reg('b', 300), reg('c', 100)]);
    map.allocate('t3', 'p3', [reg('d', 100)]);
    assert.equal(map.free('t2'), 400);
    assert.equal(map.free('t2'), 0);
    assert.deepEqual(map.view().stages[0].freeRanges, [
      { offset: 200, amount: 400 },
      { offset: 700, amount: 300 },
    ]);
    assert.deepEqual(map.allocate('t4', 'p4', [reg('e', 350), reg('f', 50), reg('g', 200)]), {
      e: { stage: 0, offset: 200, amount: 350 },
      f: { stage: 0, offset: 550, amount: 50 },
      g: { stage: 0, offset: 700, amount: 200 },
    });
  });

  it('reports fragmentation as 1 - largest free range / free cells per stage', () => {
    const map = new MemoryMap(3, 1000);
    map.allocate('t1', 'p1', [reg('a', 100)]);
    map.allocate('t2', 'p2', [reg('b', 100)]);
    map.allocate('t3', 'p3', [reg('c', 100)]);
    map.allocate('t4', 'p4', [reg('fill1', 1000)]);
    map.free('t2');
    const [stage0, stage1, stage2] = map.view().stages;
    // Stage 0: free 100-199 and 300-999: 800 free cells, the largest range 700.
    assert.deepEqual(stage0.freeRanges, [
      { offset: 100, amount: 100 },
      { offset: 300, amount: 700 },
    ]);
    assert.equal(stage0.freeCells, 800);
    assert.equal(stage0.usedCells, 200);
    assert.equal(stage0.fragmentation, 1 - 700 / 800);
    // Stage 1: full, nothing free. Stage 2: all free, one range.
    assert.equal(stage1.freeCells, 0);
    assert.equal(stage1.fragmentation, 0);
    assert.equal(stage2.freeCells, 1000);
    assert.equal(stage2.fragmentation, 0);
  });

  it('rebuilds the same map from page tables, and refuses slices that do not fit this switch', () => {
    const map = new MemoryMap(2, 1000);
    const pageTable = map.allocate('t1', 'p', [reg('a', 700), reg('b', 500), reg('c', 150, 128)]);
    const rebuilt = new MemoryMap(2, 1000);
    for (const [register, entry] of Object.entries(pageTable)) rebuilt.restore('t1', 'p', register, entry);
    assert.deepEqual(rebuilt.view(), map.view());
    assert.throws(
      () => rebuilt.restore('t2', 'q', 'x', { stage: 0, offset: 650, amount: 10 }),
      /overlaps register p\.a/,
    );
    assert.throws(() => rebuilt.restore('t2', 'q', 'x', { stage: 2, offset: 0, amount: 10 }), /stages 0-1/);
    assert.throws(() => rebuilt.restore('t2', 'q', 'x', { stage: 1, offset: 990, amount: 20 }), /1000 cells/);
  });

  it('refuses a second allocation for a tenant that still holds memory', () => {
    const map = new MemoryMap(1, 100);
    map.allocate('t1', 'p', [reg('a', 10)]);
    assert.throws(() => map.allocate('t1', 'p', [reg('a', 10)]), /free it before allocating again/);
  });

  it('keeps a clone independent of the original', () => {
    const map = new MemoryMap(1, 100);
    map.allocate('t1', 'p', [reg('a', 10)]);
    const copy = map.clone();
    copy.free('t1');
    copy.allocate('t2', 'q', [reg('b', 50)]);
    assert.deepEqual(
      map.view().stages[0].slices.map((s) => s.tenant),
      ['t1'],
    );
  });
});
