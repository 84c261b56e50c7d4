import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '@tenantlab/shared';
import { RegisterMemory, TenantMemoryView } from './register-memory';

describe('RegisterMemory and TenantMemoryView', () => {
  it('maps index to offset + (index mod amount) and masks values to the width', () => {
    const memory = new RegisterMemory(2, 64);
    const view = new TenantMemoryView(memory, { r: { stage: 1, offset: 10, amount: 4 } }, [{ name: 'r', width: 8 }]);
    view.write('r', 5, 0x1ffn);
    assert.equal(view.read('r', 1), 0xffn);
    assert.deepEqual(memory.cells(1, 10, 4), [0n, 0xffn, 0n, 0n]);
    assert.equal(view.add('r', 1, 2n), 1n, 'wraps at 8 bits');
  });

  it('keeps every index inside the slice: negative, huge, fractional, NaN and infinite', () => {
    const memory = new RegisterMemory(1, 32);
    const view = new TenantMemoryView(memory, { r: { stage: 0, offset: 8, amount: 5 } }, [{ name: 'r', width: 32 }]);
    const slice = view.slice('r');
    for (const index of [-1, -6, 5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e300, -1e300, 3.7, NaN, Infinity, -Infinity]) {
      const cell = slice.cell(index);
      assert.ok(cell >= 8 && cell < 13, `index ${index} gave cell ${cell}`);
    }
    assert.equal(slice.cell(-1), 12, '-1 is the last entry');
    for (const index of [2n ** 127n, 2n ** 64n + 3n, -1n]) {
      const cell = slice.cellOfBig(index);
      assert.ok(cell >= 8 && cell < 13, `index ${index} gave cell ${cell}`);
    }
  });

  it('stores 64- and 128-bit values across the cell halves, two cells per 128-bit entry', () => {
    const memory = new RegisterMemory(1, 16);
    const view = new TenantMemoryView(
      memory,
      { w: { stage: 0, offset: 0, amount: 2 }, x: { stage: 0, offset: 4, amount: 6 } }, // cells: three 128-bit entries
      [
        { name: 'w', width: 64 },
        { name: 'x', width: 128 },
      ],
    );
    view.write('w', 1, 0x1122334455667788n);
    assert.equal(view.read('w', 1), 0x1122334455667788n);
    assert.equal(view.add('w', 1, 2n ** 64n - 0x1122334455667788n), 0n, 'wraps at 64 bits');
    const big = (1n << 127n) | 0xabcdefn;
    view.write('x', 2, big);
    assert.equal(view.read('x', 2), big);
    assert.deepEqual(memory.cells(0, 8, 2), [0xabcdefn, 1n << 63n]);
    assert.equal(view.read('x', 5), big, 'index 5 wraps to entry 2');
  });

  it('rejects page table entries outside the memory and registers without one', () => {
    const memory = new RegisterMemory(2, 16);
    const make =
      (entry: { stage: number; offset: number; amount: number }, width: 32 | 128 = 32) =>
      () =>
        new TenantMemoryView(memory, { r: entry }, [{ name: 'r', width }]);
    assert.throws(make({ stage: 2, offset: 0, amount: 1 }), /stage 2/);
    assert.throws(make({ stage: 0, offset: 10, amount: 7 }), /run past/);
    assert.throws(make({ stage: 0, offset: 10, amount: 8 }, 128), /run past/);
    assert.throws(make({ stage: 0, offset: 0, amount: 3 }, 128), /2-cell entries/);
    assert.throws(make({ stage: 0, offset: -1, amount: 1 }), ValidationError);
    assert.throws(make({ stage: 0, offset: 0, amount: 0 }), /amount 0/);
    assert.throws(() => new TenantMemoryView(memory, {}, [{ name: 'r', width: 8 }]), /no entry for register r/);
  });
});
