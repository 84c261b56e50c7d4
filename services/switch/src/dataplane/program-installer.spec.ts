import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JsonLogger, type LinkedPipeline, type PageTable, type TenantProgram } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { type CompiledProgram, RegisterMemory } from '../programs';
import { context, frame, recordingHooks, valid } from '../programs/testing/program-fixtures';
import { type InstalledPrograms, ProgramInstaller } from './program-installer';

const FLOW_TABLE = JSON.parse(
  readFileSync(join(__dirname, '..', '..', '..', '..', 'programs', 'flow-table.json'), 'utf8'),
) as Partial<TenantProgram>;

/** The flow table's two registers side by side from `offset`, `slots` cells each. */
function pageTable(offset: number, slots: number): PageTable {
  return {
    keys: { stage: 0, offset, amount: slots },
    counts: { stage: 0, offset: offset + slots, amount: slots },
  };
}

function pipeline(version: number, tables: Record<string, PageTable>): LinkedPipeline {
  return {
    version,
    epoch: 'epoch-1',
    createdAt: new Date(0).toISOString(),
    tenants: Object.fromEntries(
      Object.entries(tables).map(([tenant, table]) => [
        tenant,
        { program: valid(FLOW_TABLE, tenant), pageTable: table },
      ]),
    ),
  };
}

/** Sends `packets` frames from `sources` distinct sources through a tenant's program. */
function send(program: CompiledProgram, sources: number, packets: number): void {
  for (let n = 0; n < packets; n++) program.run(context(frame({ src: `10.1.0.${n % sources}` })));
}

/** The register's cells as the program sees them. */
function cells(program: CompiledProgram, register: string, slots: number): bigint[] {
  return Array.from({ length: slots }, (_, slot) => program.memory.read(register, slot));
}

describe('ProgramInstaller: a re-link restarts the re-linked tenant only (README: seed 004, a re-linked tenant’s state)', () => {
  it('keeps the state of a tenant the new version did not touch, and starts the re-linked one from zero', async () => {
    let current = '';
    const installs: InstalledPrograms[] = [];
    const redis = { get: () => Promise.resolve(current) } as unknown as Redis;
    const installer = new ProgramInstaller(
      redis,
      redis,
      new RegisterMemory(1, 8192),
      () => recordingHooks(),
      (programs) => installs.push(programs),
      new JsonLogger('switch', 'error', () => undefined),
    );

    current = JSON.stringify(pipeline(1, { 'tenant-a': pageTable(0, 64), 'tenant-b': pageTable(1024, 64) }));
    await installer.refresh();
    const first = installer.current();
    const [a1, b1] = [first.byTenant.get('tenant-a'), first.byTenant.get('tenant-b')];
    assert.ok(a1 && b1, 'both tenants run');
    send(a1, 20, 300);
    send(b1, 30, 500);
    const bKeys = cells(b1, 'keys', 64);
    assert.ok(
      bKeys.some((cell) => cell !== 0n),
      'tenant-b holds flows',
    );
    assert.ok(
      cells(a1, 'keys', 64).some((cell) => cell !== 0n),
      'tenant-a holds flows',
    );

    // The allocator's decision re-links tenant-a (more slots, over the cells it used); tenant-b's linking stays.
    current = JSON.stringify(pipeline(2, { 'tenant-a': pageTable(0, 128), 'tenant-b': pageTable(1024, 64) }));
    await installer.refresh();
    const second = installer.current();
    assert.equal(second.version, 2);
    assert.equal(installs.at(-1), second, 'handed to the data path');

    const [a2, b2] = [second.byTenant.get('tenant-a'), second.byTenant.get('tenant-b')];
    assert.equal(b2, b1, 'the untouched tenant keeps its running instance');
    assert.equal(b2?.counter('packets', 0).packets, 500, 'and its counters');
    assert.deepEqual(b2 && cells(b2, 'keys', 64), bKeys, 'and its registers');

    assert.ok(a2 && a2 !== a1, 'the re-linked tenant runs a new instance');
    assert.equal(a2.counter('packets', 0).packets, 0, 'its counters start from 0');
    assert.ok(
      cells(a2, 'keys', 128).every((cell) => cell === 0n),
      'its new slices start zeroed',
    );
  });
});
