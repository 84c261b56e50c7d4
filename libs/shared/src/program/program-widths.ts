import { PROGRAM_LIMITS, type BinaryOperator } from './program.constants';
import type { Constant } from './program.types';

/**
 * The width rule. Every value has a width: the bits it may occupy.
 *
 * - a field, metadata variable or param: its declared width; a constant: the bits its value needs (0 needs 1);
 * - `a & b`: the narrower of the two (this is how a value is masked down);
 * - `a | b`, `a ^ b`: the wider of the two;
 * - `a + b`, `a - b`: the wider of the two, and the result wraps modulo 2^width as P4's `bit<W>` arithmetic does
 *   (so `ipv4.ttl - 1` is 8 bits and 0 - 1 gives 255);
 * - `a >> n`: a's width minus n for a constant n (at least 1), a's width otherwise;
 * - `a << n`: a's width plus n for a constant n, plus the largest value n can hold otherwise;
 * - never more than 128 bits.
 *
 * A value may be stored (`set`, `register.write`, `register.add`, a register read or hash into metadata, a default
 * action argument, a guard's comparison value) only where it fits: value width <= destination width, zero-extended.
 * Nothing is truncated implicitly; to store a wider value, mask it explicitly (`{ op: '&', left, right: { const:
 * '0xff' } }`) or shift it down. The only bits ever lost are the documented wrap of + and -.
 */
export function binaryWidth(op: BinaryOperator, left: number, right: number, rightConstant?: bigint): number {
  const max = PROGRAM_LIMITS.valueBits;
  switch (op) {
    case '&':
      return Math.min(left, right);
    case '|':
    case '^':
    case '+':
    case '-':
      return Math.max(left, right);
    case '>>':
      return rightConstant === undefined ? left : Math.max(1, left - Number(clampShift(rightConstant)));
    case '<<': {
      const shift = rightConstant ?? (1n << BigInt(Math.min(right, 8))) - 1n;
      return Math.min(max, left + Number(clampShift(shift)));
    }
  }
}

/** Shifts of 128 or more leave nothing of a 128-bit value; clamping keeps the arithmetic in small numbers. */
function clampShift(shift: bigint): bigint {
  const max = BigInt(PROGRAM_LIMITS.valueBits);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a shift of exactly 128 is the clamp itself, and an unclamped larger one still gives a width of 1 (>>) or the 128-bit limit (<<)
  return shift > max ? max : shift;
}

/** Bits needed to write `value` (at least 1, so that 0 is a 1-bit value). */
export function bitLength(value: bigint): number {
  // Stryker disable next-line ConditionalExpression: 0n.toString(2) is '0', one digit, so 0 takes 1 bit either way
  return value === 0n ? 1 : value.toString(2).length;
}

/** The largest value `bits` bits hold, as the `0x...` mask that narrows a value to them. */
export function maskFor(bits: number): string {
  return `0x${((1n << BigInt(bits)) - 1n).toString(16)}`;
}

/** A constant written as a string: decimal digits, or 0x and hex digits; at most 128 bits either way. */
export const CONSTANT_PATTERN = /^(0x[0-9a-fA-F]{1,32}|[0-9]{1,39})$/;

/**
 * A constant as untrusted input gives it (a table entry, an action arg): a non-negative safe integer, or a decimal or
 * 0x-hex string of at most 128 bits; undefined for anything else.
 */
export function parseConstant(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  return typeof value === 'string' && CONSTANT_PATTERN.test(value) ? BigInt(value) : undefined;
}

/**
 * The value of a validated constant. Throws a RangeError for anything that is not one (validated programs never
 * hold such constants): a negative, fractional or unsafe number, or a string that is not decimal or 0x-hex digits.
 */
export function constantValue(constant: Constant): bigint {
  if (typeof constant === 'number') {
    if (!Number.isSafeInteger(constant) || constant < 0) {
      throw new RangeError(`not a constant: ${constant}`);
    }
    return BigInt(constant);
  }
  if (!CONSTANT_PATTERN.test(constant)) {
    throw new RangeError('not a constant: expected decimal digits or 0x and hex digits');
  }
  return BigInt(constant);
}
