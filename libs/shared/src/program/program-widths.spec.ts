import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binaryWidth, bitLength, constantValue, maskFor, parseConstant } from './program-widths';

describe('binaryWidth', () => {
  for (const [op, left, right, constant, expected] of [
    ['&', 32, 8, undefined, 8],
    ['&', 8, 32, undefined, 8],
    ['|', 32, 8, undefined, 32],
    ['^', 8, 1, 1n, 8],
    ['+', 8, 1, 1n, 8],
    ['-', 32, 10, 1000n, 32],
    ['>>', 32, 5, 24n, 8],
    ['>>', 32, 6, 40n, 1],
    ['>>', 32, 8, undefined, 32],
    ['<<', 6, 2, 2n, 8],
    ['<<', 4, 3, undefined, 11],
    ['<<', 120, 4, 10n, 128],
    ['<<', 8, 200, 1000n, 128],
  ] as const) {
    it(`${left}-bit ${op} ${constant === undefined ? `${right}-bit` : String(constant)} is ${expected} bits`, () => {
      assert.equal(binaryWidth(op, left, right, constant), expected);
    });
  }
});

describe('constants', () => {
  it('read numbers, decimal strings and hex strings alike', () => {
    assert.equal(constantValue(2048), 2048n);
    assert.equal(constantValue('18446744073709551615'), 2n ** 64n - 1n);
    assert.equal(constantValue('0xFFff'), 0xffffn);
  });

  it('refuse what validated programs never hold, saying what was wrong', () => {
    for (const bad of [-1, 1.5, 2 ** 53]) {
      assert.throws(() => constantValue(bad), { name: 'RangeError', message: `not a constant: ${bad}` });
    }
    for (const bad of ['', '-1', '0x', '12abc']) {
      assert.throws(() => constantValue(bad), {
        name: 'RangeError',
        message: 'not a constant: expected decimal digits or 0x and hex digits',
      });
    }
  });

  it('parse untrusted input (table entries, action args) into a value, or nothing', () => {
    assert.deepEqual(
      [0, 2048, 2 ** 53 - 1, '42', '0xff', '340282366920938463463374607431768211455'].map(parseConstant),
      [0n, 2048n, 2n ** 53n - 1n, 42n, 255n, 2n ** 128n - 1n],
    );
    for (const bad of [
      -1,
      1.5,
      2 ** 53,
      Number.NaN,
      '',
      '-1',
      '0x',
      '12abc',
      ' 1',
      true,
      null,
      undefined,
      [1],
      { value: 1 },
    ]) {
      assert.equal(parseConstant(bad), undefined, JSON.stringify(bad));
    }
  });

  it('measure bits, 0 being a 1-bit value, and give masks', () => {
    assert.deepEqual([0n, 1n, 255n, 256n, 2n ** 128n - 1n].map(bitLength), [1, 1, 8, 9, 128]);
    assert.deepEqual([1, 6, 8, 48].map(maskFor), ['0x1', '0x3f', '0xff', '0xffffffffffff']);
  });
});
