import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantProgram } from '@tenantlab/shared';
import { compileProgram, ProgramCodeCache } from './program-compiler';
import { RegisterMemory } from './register-memory';
import { context, frame, recordingHooks, valid } from './testing/program-fixtures';

/**
 * Counts every packet in a register and a counter, marks sources listed in a table, and reports marked ones: every
 * kind of tenant state (registers, counters, table entries, hooks) in one program.
 */
const COUNTING: Partial<TenantProgram> = {
  metadata: [{ name: 'n', bits: 32 }],
  registers: [{ name: 'seen', width: 32, size: 4 }],
  counters: [{ name: 'packets', size: 1, kind: 'packets' }],
  actions: [
    {
      name: 'count',
      params: [],
      ops: [
        { op: 'register.add', register: 'seen', index: { const: 0 }, value: { const: 1 }, into: 'meta.n' },
        { op: 'counter.count', counter: 'packets', index: { const: 0 } },
      ],
    },
    { name: 'flag', params: [], ops: [{ op: 'report', event: 'flagged', fields: ['ipv4.src'] }, { op: 'mirror' }] },
    { name: 'pass', params: [], ops: [] },
  ],
  tables: [
    { name: 'always', key: [], actions: ['count'], defaultAction: { action: 'count', args: {} }, size: 0 },
    {
      name: 'watch',
      key: [{ field: 'ipv4.src', match: 'exact' }],
      actions: ['flag', 'pass'],
      defaultAction: { action: 'pass', args: {} },
      size: 4,
    },
  ],
  control: [{ table: 'always' }, { table: 'watch' }],
};

describe('tenants running the same program share its code, not its state', () => {
  it('compiles a document once, and keeps only what the running version uses', () => {
    const codes = new ProgramCodeCache();
    const memory = new RegisterMemory(1, 16);
    const a = compileProgram(
      valid(COUNTING, 'tenant-a'),
      { seen: { stage: 0, offset: 0, amount: 4 } },
      memory,
      recordingHooks(),
      codes,
    );
    const b = compileProgram(
      valid(COUNTING, 'tenant-b'),
      { seen: { stage: 0, offset: 4, amount: 4 } },
      memory,
      recordingHooks(),
      codes,
    );
    assert.equal(codes.size, 1, 'one compiled code for the two tenants');
    assert.notEqual(a, b);
    const code = codes.codeFor(valid(COUNTING, 'tenant-d').program);
    assert.equal(codes.codeFor(valid(COUNTING, 'tenant-e').program), code, 'the same document, the same code');
    const other = { ...COUNTING, name: 'other_program' };
    const otherCode = codes.codeFor(valid(other, 'tenant-c').program);
    compileProgram(
      valid(other, 'tenant-c'),
      { seen: { stage: 0, offset: 8, amount: 4 } },
      memory,
      recordingHooks(),
      codes,
    );
    assert.equal(codes.size, 2, 'another document is compiled apart');
    codes.retain([valid(other, 'tenant-c').program]);
    assert.equal(codes.size, 1, 'the code no running program uses is forgotten');
    assert.equal(codes.codeFor(valid(other, 'tenant-c').program), otherCode, 'the running code is kept, not rebuilt');
    assert.notEqual(codes.codeFor(valid(COUNTING, 'tenant-a').program), code, 'the forgotten code is compiled anew');
  });

  it("one tenant's packets, entries and hooks never show in the other's registers, counters, tables or events", () => {
    const codes = new ProgramCodeCache();
    const memory = new RegisterMemory(1, 8);
    const hooksA = recordingHooks();
    const hooksB = recordingHooks();
    const a = compileProgram(
      valid(COUNTING, 'tenant-a'),
      { seen: { stage: 0, offset: 0, amount: 4 } },
      memory,
      hooksA,
      codes,
    );
    const b = compileProgram(
      valid(COUNTING, 'tenant-b'),
      { seen: { stage: 0, offset: 4, amount: 4 } },
      memory,
      hooksB,
      codes,
    );
    a.addEntry('watch', { key: [{ value: 0x0a000001 }], action: 'flag' });

    const packet = frame({ src: '10.0.0.1' });
    for (let i = 0; i < 5; i++) a.run(context(packet));
    // Interleaved, as the switch runs them: B's run between A's must not carry A's state along.
    b.run(context(packet));
    a.run(context(packet));
    b.run(context(packet));

    assert.equal(a.memory.read('seen', 0), 6n);
    assert.equal(b.memory.read('seen', 0), 2n);
    assert.deepEqual(memory.cells(0, 4, 4), [2n, 0n, 0n, 0n], "B's slice holds B's count only");
    assert.equal(a.counter('packets', 0).packets, 6);
    assert.equal(b.counter('packets', 0).packets, 2);
    assert.equal(a.entryCount('watch'), 1);
    assert.equal(b.entryCount('watch'), 0, "A's entry is A's only");
    assert.equal(hooksA.reports.length, 6, 'A flags its watched source');
    assert.equal(hooksA.mirrored.length, 6);
    assert.deepEqual(hooksB.reports, [], 'B never reports: it has no entry, and never gets A’s events');
    assert.deepEqual(hooksB.mirrored, []);
    assert.equal(b.entriesGeneration, 0);
    assert.equal(a.entriesGeneration, 1);
  });
});
