import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProgram } from './program-compiler';
import type { Expression, Op } from '@tenantlab/shared';
import { RegisterMemory } from './register-memory';
import { context, frame, recordingHooks, valid } from './testing/program-fixtures';

/**
 * Tenant A attacks: every index a program can compute (and the page-table arithmetic's edge cases) must land in
 * A's own slice; tenant B's cells, right next to A's on both sides of the stage, stay byte-for-byte the same.
 */
describe('register isolation between tenants', () => {
  it("tenant A's writes with hostile indexes never touch tenant B's adjacent cells", () => {
    const memory = new RegisterMemory(1, 96);
    // B | A | B on one stage: A's 32-bit register at 32..47, its 128-bit one at 48..63 (8 entries x 2 cells).
    const bBefore = { stage: 0, offset: 0, amount: 32 };
    const bAfter = { stage: 0, offset: 64, amount: 32 };
    const tenantB = compileProgram(
      valid(
        {
          registers: [
            { name: 'low', width: 64, size: 32 },
            { name: 'high', width: 64, size: 32 },
          ],
        },
        'tenant-b',
      ),
      { low: bBefore, high: bAfter },
      memory,
      recordingHooks(),
    );
    for (let i = 0; i < 32; i++) {
      tenantB.memory.write('low', i, 0x0123456789abcdefn ^ BigInt(i));
      tenantB.memory.write('high', i, 0xfedcba9876543210n ^ BigInt(i));
    }
    const bSnapshot = [...memory.cells(0, 0, 32), ...memory.cells(0, 64, 32)];

    const amount = 16;
    // The validator refuses constant indexes outside a register, so the hostile values arrive computed.
    const hostile: Expression[] = [
      { op: '+', left: { field: 'meta.zero' }, right: { const: '0xffffffff' } }, // -1 as a 32-bit value
      { op: '+', left: { field: 'meta.zero' }, right: { const: amount } },
      { op: '+', left: { field: 'meta.zero' }, right: { const: 2 ** 31 } },
      { op: '+', left: { field: 'meta.zero' }, right: { const: 2 ** 53 - 1 } },
      { op: '+', left: { field: 'meta.zero' }, right: { const: '0x20000000000000' } }, // 2^53
      { op: '+', left: { field: 'meta.zero' }, right: { const: '0xffffffffffffffffffffffffffffffff' } }, // 2^128 - 1
      { op: '-', left: { const: 0 }, right: { const: 1 } }, // wraps, never negative
      { op: '<<', left: { const: 1 }, right: { field: 'meta.big' } }, // a shift by 2^64 - 1
      { op: '>>', left: { field: 'meta.big' }, right: { field: 'ipv4.ttl' } },
      { op: '+', left: { field: 'meta.big' }, right: { field: 'meta.big' } },
      { field: 'meta.h' },
      { field: 'meta.wide_h' },
      { field: 'ipv4.src' },
      { field: 'eth.src' },
    ];
    const ops: Op[] = [
      { op: 'set', target: 'meta.big', value: { const: '0xffffffffffffffff' } },
      { op: 'hash', algorithm: 'crc32', fields: ['ipv4.src', 'l4.sport'], bound: 2 ** 32, into: 'meta.h' },
      { op: 'hash', algorithm: 'identity', fields: ['eth.src', 'eth.dst'], bound: 2 ** 32, into: 'meta.wide_h' },
    ];
    for (const index of hostile) {
      const value: Expression = { const: '0xffffffffffffffffffffffffffffffff' };
      ops.push({ op: 'register.write', register: 'r', index, value: { const: '0xffffffff' } });
      ops.push({ op: 'register.add', register: 'r', index, value: { const: '0xffffffff' } });
      ops.push({ op: 'register.write', register: 'wide', index, value });
      ops.push({ op: 'register.add', register: 'wide', index, value });
    }
    const chunks: Op[][] = [];
    for (let i = 0; i < ops.length; i += 30) chunks.push(ops.slice(i, i + 30));
    const tenantA = compileProgram(
      valid({
        metadata: [
          { name: 'big', bits: 64 },
          { name: 'zero', bits: 1 },
          { name: 'h', bits: 32 },
          { name: 'wide_h', bits: 32 },
        ],
        registers: [
          { name: 'r', width: 32, size: amount },
          { name: 'wide', width: 128, size: 8 },
        ],
        actions: chunks.map((chunk, i) => ({ name: `attack_${i}`, params: [], ops: chunk })),
        tables: chunks.map((_, i) => ({
          name: `t${i}`,
          key: [],
          actions: [`attack_${i}`],
          defaultAction: { action: `attack_${i}`, args: {} },
          size: 0,
        })),
        control: chunks.map((_, i) => ({ table: `t${i}` })),
      }),
      { r: { stage: 0, offset: 32, amount }, wide: { stage: 0, offset: 48, amount: 8 } },
      memory,
      recordingHooks(),
    );
    for (let n = 0; n < 200; n++) {
      tenantA.run(
        context(frame({ src: `10.${n}.${(n * 7) % 256}.${(n * 13) % 256}`, sport: (n * 331) % 65536, ttl: n % 256 })),
      );
    }
    // Through the control-plane view too: NaN, infinities, negatives, huge doubles and BigInts.
    for (const index of [-1, amount, 2 ** 31, 2 ** 53, NaN, Infinity, -Infinity, -1e300, 1e300, 2n ** 127n]) {
      tenantA.memory.write('r', index, 2n ** 64n - 1n);
      tenantA.memory.add('wide', index, 2n ** 128n - 1n);
    }

    assert.deepEqual([...memory.cells(0, 0, 32), ...memory.cells(0, 64, 32)], bSnapshot);
    assert.ok(
      memory.cells(0, 32, 32).some((cell) => cell !== 0n),
      "the attack did write to A's own slice",
    );
  });
});
