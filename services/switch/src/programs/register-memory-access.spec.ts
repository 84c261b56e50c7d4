import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '@tenantlab/shared';
import { RegisterMemory, RegisterSlice, TenantMemoryView } from './register-memory';

describe('RegisterMemory', () => {
  it('needs at least one stage of at least one cell', () => {
    for (const [stages, cells] of [
      [0, 8],
      [1, 0],
      [1.5, 8],
      [1, 2.5],
    ]) {
      assert.throws(() => new RegisterMemory(stages, cells), /at least one stage of at least one cell/);
    }
    assert.equal(new RegisterMemory(1, 1).cells(0, 0, 1).length, 1);
  });

  it("zeroes exactly a slice's cells, both halves, before a new owner runs", () => {
    const memory = new RegisterMemory(2, 8);
    const everywhere = new RegisterSlice(memory, 'all', 64, { stage: 1, offset: 0, amount: 8 });
    for (let cell = 0; cell < 8; cell++) everywhere.writeWide(cell, 0x1_0000_0001n);
    memory.clear({ stage: 1, offset: 2, amount: 3 });
    assert.deepEqual(
      memory.cells(1, 0, 8),
      [1n, 1n, 0n, 0n, 0n, 1n, 1n, 1n].map((v) => (v === 0n ? 0n : 0x1_0000_0001n)),
    );
    memory.clear({ stage: 1, offset: 6, amount: 10 }); // past the stage's end: stops at its last cell
    assert.deepEqual(memory.cells(1, 5, 3), [0x1_0000_0001n, 0n, 0n]);
  });
});

describe('RegisterSlice narrow access (what compiled programs use for registers of 32 bits or less)', () => {
  it('masks written values and wraps additions at the width, both ways', () => {
    const memory = new RegisterMemory(1, 8);
    const byte = new RegisterSlice(memory, 'b', 8, { stage: 0, offset: 0, amount: 4 });
    byte.writeNarrow(1, 0x1ff);
    assert.equal(byte.readNarrow(1), 0xff);
    assert.equal(byte.addNarrow(1, 1), 0, '0xff + 1 wraps to 0 at 8 bits');
    assert.equal(byte.addNarrow(1, -1), 0xff, '0 - 1 wraps to 0xff');
    const word = new RegisterSlice(memory, 'w', 32, { stage: 0, offset: 4, amount: 4 });
    word.writeNarrow(4, 0xffffffff);
    assert.equal(word.readNarrow(4), 0xffffffff);
    assert.equal(word.addNarrow(4, 2), 1, 'wraps at 32 bits, unsigned');
    assert.equal(word.addNarrow(4, -2), 0xffffffff);
    assert.equal(byte.readNarrow(0), 0, 'the neighbouring cells are untouched');
  });

  it('writes a wide value into a narrow register masked to its width', () => {
    const memory = new RegisterMemory(1, 4);
    const half = new RegisterSlice(memory, 'h', 16, { stage: 0, offset: 0, amount: 4 });
    half.writeWide(2, 0x1_2345_6789n);
    assert.equal(half.readWide(2), 0x6789n);
    assert.deepEqual(memory.cells(0, 0, 4), [0n, 0n, 0x6789n, 0n]);
  });

  it('maps indexes of 128-bit registers to the first of two cells, wrapping big and negative ones', () => {
    const memory = new RegisterMemory(1, 16);
    const wide = new RegisterSlice(memory, 'x', 128, { stage: 0, offset: 4, amount: 6 });
    assert.deepEqual(
      [0, 1, 2, 3, -1].map((i) => wide.cell(i)),
      [4, 6, 8, 4, 8],
    );
    assert.deepEqual(
      [0n, 1n, 2n, 3n, -1n, -4n].map((i) => wide.cellOfBig(i)),
      [4, 6, 8, 4, 8, 8],
    );
  });
});

describe('RegisterSlice wide access', () => {
  it('keeps a value written to a register of 32 bits or less in its low half', () => {
    const memory = new RegisterMemory(1, 2);
    const word = new RegisterSlice(memory, 'w', 32, { stage: 0, offset: 0, amount: 2 });
    word.writeWide(0, 0x1_0000_0005n);
    assert.equal(word.readWide(0), 5n);
    assert.deepEqual(memory.cells(0, 0, 2), [5n, 0n]);
  });

  it('writes a 64-bit entry into its one cell only, and a 128-bit entry into its two, in order', () => {
    const memory = new RegisterMemory(1, 8);
    const long = new RegisterSlice(memory, 'l', 64, { stage: 0, offset: 0, amount: 2 });
    const next = new RegisterSlice(memory, 'n', 64, { stage: 0, offset: 2, amount: 1 });
    next.writeWide(2, 7n);
    long.writeWide(1, 2n ** 64n - 1n);
    assert.deepEqual(memory.cells(0, 0, 3), [0n, 2n ** 64n - 1n, 7n], "the next register's cell is left alone");
    assert.equal(long.readWide(1), 2n ** 64n - 1n, "and is not read as part of this one's value");
    const wide = new RegisterSlice(memory, 'x', 128, { stage: 0, offset: 4, amount: 4 });
    const value = 0x11111111_22222222_33333333_44444444n;
    wide.writeWide(6, value);
    assert.equal(wide.readWide(6), value);
    assert.deepEqual(memory.cells(0, 4, 4), [0n, 0n, 0x33333333_44444444n, 0x11111111_22222222n]);
  });
});

describe('TenantMemoryView page table entries', () => {
  it('accepts a slice that ends exactly at the end of its stage, and says how far one runs past', () => {
    const memory = new RegisterMemory(2, 16);
    const view = new TenantMemoryView(memory, { r: { stage: 1, offset: 10, amount: 6 } }, [{ name: 'r', width: 32 }]);
    view.write('r', 5, 7n);
    assert.deepEqual(memory.cells(1, 15, 1), [7n]);
    assert.throws(
      () => new TenantMemoryView(memory, { r: { stage: 1, offset: 10, amount: 7 } }, [{ name: 'r', width: 32 }]),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.message === "Page table entry for register r rejected: cells 10 to 16 run past the stage's 16 cells." &&
        error.details.length === 1 &&
        error.details[0] === "r: cells 10 to 16 run past the stage's 16 cells",
    );
  });

  it('refuses fractional stages, offsets and amounts', () => {
    const memory = new RegisterMemory(2, 16);
    const entries = [
      { stage: 0.5, offset: 0, amount: 1 },
      { stage: 0, offset: 0.5, amount: 1 },
      { stage: 0, offset: 0, amount: 1.5 },
    ];
    for (const entry of entries) {
      assert.throws(
        () => new TenantMemoryView(memory, { r: entry }, [{ name: 'r', width: 32 }]),
        ValidationError,
        JSON.stringify(entry),
      );
    }
    assert.throws(
      () => new TenantMemoryView(memory, { r: { stage: -1, offset: 0, amount: 1 } }, [{ name: 'r', width: 32 }]),
      /stage -1 is not one of the 2 stages/,
    );
    assert.throws(
      () => new TenantMemoryView(memory, { r: { stage: 0, offset: -2, amount: 1 } }, [{ name: 'r', width: 32 }]),
      /offset -2 is not a cell number/,
    );
  });

  it('takes only entries the page table itself holds, and names a register it does not know', () => {
    const memory = new RegisterMemory(1, 16);
    assert.throws(
      () => new TenantMemoryView(memory, {}, [{ name: 'toString', width: 32 }]),
      (error: unknown) =>
        error instanceof ValidationError &&
        /no entry for register toString/.test(error.message) &&
        error.details.join() === 'toString: no page table entry',
    );
    const view = new TenantMemoryView(memory, { r: { stage: 0, offset: 0, amount: 4 } }, [{ name: 'r', width: 32 }]);
    assert.throws(() => view.read('s', 0), /^RangeError: no register s$/);
  });
});
