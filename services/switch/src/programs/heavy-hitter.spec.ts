import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProgram } from './program-compiler';
import type { Op } from '@tenantlab/shared';
import { crc16, crc32 } from './hash-functions';
import { RegisterMemory } from './register-memory';
import { context, frame, recordingHooks, valid } from './testing/program-fixtures';

/**
 * The seed-004 workload: a count-min sketch (3 rows of 256 counters, different hashes per row) estimates each
 * source's packets; a source whose estimate reaches the threshold is reported.
 */
const THRESHOLD = 600;
const ROWS = 3;

function sketchProgram() {
  const ops: Op[] = [];
  for (let row = 0; row < ROWS; row++) {
    const fields = row === 2 ? ['l4.dport', 'ipv4.src'] : ['ipv4.src'];
    ops.push({ op: 'hash', algorithm: row === 1 ? 'crc16' : 'crc32', fields, bound: 256, into: `meta.i${row}` });
    ops.push({
      op: 'register.add',
      register: `row${row}`,
      index: { field: `meta.i${row}` },
      value: { const: 1 },
      into: `meta.c${row}`,
    });
  }
  return valid({
    metadata: Array.from({ length: ROWS }, (_, r) => [
      { name: `i${r}`, bits: 8 },
      { name: `c${r}`, bits: 32 },
    ]).flat(),
    registers: Array.from({ length: ROWS }, (_, r) => ({ name: `row${r}`, width: 32 as const, size: 256 })),
    actions: [
      { name: 'count', params: [], ops },
      { name: 'report', params: [], ops: [{ op: 'report', event: 'heavy_hitter', fields: ['ipv4.src', 'meta.c0'] }] },
    ],
    tables: [
      { name: 'sketch', key: [], actions: ['count'], defaultAction: { action: 'count', args: {} }, size: 0 },
      { name: 'alert', key: [], actions: ['report'], defaultAction: { action: 'report', args: {} }, size: 0 },
    ],
    // Report once, when the first row reaches the threshold (other rows can only confirm, a min would need more ops).
    control: [{ table: 'sketch' }, { table: 'alert', if: { field: 'meta.c0', op: '==', value: THRESHOLD } }],
  });
}

/** The cell each row's `hash` op picks for a source, computed here from the hash functions, not by the program. */
function sketchIndex(row: number, src: string): number {
  const address = src.split('.').map(Number);
  // Fields are hashed as their big-endian bytes, concatenated in op order: row 2 hashes l4.dport (80, the fixture's
  // default) then ipv4.src.
  const bytes = Uint8Array.from(row === 2 ? [0, 80, ...address] : address);
  return (row === 1 ? crc16(bytes, bytes.length) : crc32(bytes, bytes.length)) % 256;
}

describe('count-min sketch heavy hitter', () => {
  it('counts a Zipf-like stream and reports the heavy source', () => {
    const memory = new RegisterMemory(1, 1024);
    const hooks = recordingHooks();
    const pageTable = Object.fromEntries(
      Array.from({ length: ROWS }, (_, r) => [`row${r}`, { stage: 0, offset: 256 * r, amount: 256 }]),
    );
    const program = compileProgram(sketchProgram(), pageTable, memory, hooks);
    // Source k sends about 1000 / k packets (Zipf, s = 1) over 200 sources, interleaved deterministically.
    const sent = new Map<string, number>();
    const frames: string[] = [];
    for (let k = 1; k <= 200; k++)
      for (let n = 0; n < Math.floor(1000 / k); n++) frames.push(`10.1.${k >> 8}.${k & 255}`);
    let seed = 7;
    for (let i = frames.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [frames[i], frames[j]] = [frames[j], frames[i]];
    }
    for (const src of frames) {
      program.run(context(frame({ src })));
      sent.set(src, (sent.get(src) ?? 0) + 1);
    }

    // One report, for the heavy source, carrying row 0's count at the moment it reached the threshold.
    assert.deepEqual(
      hooks.reports.map((r) => ({ event: r.event, src: r.fields['ipv4.src'], count: r.fields['meta.c0'] })),
      [{ event: 'heavy_hitter', src: 0x0a010001, count: THRESHOLD }],
      'one report, for the heaviest source 10.1.0.1',
    );

    // Each row's cell at the heavy source's hashed index holds exactly the packets of the sources that hash there
    // (the heavy source's 1000 plus its collisions in that row): a count-min sketch never underestimates.
    const heavy = '10.1.0.1';
    const heavyCells = Array.from({ length: ROWS }, (_, row) => {
      const index = sketchIndex(row, heavy);
      let expected = 0;
      for (const [src, n] of sent) if (sketchIndex(row, src) === index) expected += n;
      const cell = Number(program.memory.read(`row${row}`, index));
      assert.equal(cell, expected, `row ${row}, cell ${index}: the heavy source's 1000 packets and its collisions`);
      return cell;
    });
    assert.ok(Math.min(...heavyCells) >= 1000, `estimate ${Math.min(...heavyCells)} is below the 1000 sent`);
    // Every other cell likewise holds exactly what hashed to it: the rows count with their own hashes.
    for (let row = 0; row < ROWS; row++) {
      const expected = new Array<number>(256).fill(0);
      for (const [src, n] of sent) expected[sketchIndex(row, src)] += n;
      const cells = Array.from({ length: 256 }, (_, i) => Number(program.memory.read(`row${row}`, i)));
      assert.deepEqual(cells, expected, `row ${row}`);
    }
  });
});
