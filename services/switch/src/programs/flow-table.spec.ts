import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFrame, ipv4ToString, mulberry32, type TenantProgram } from '@tenantlab/shared';
import { crc32 } from './hash-functions';
import { compileProgram } from './program-compiler';
import { RegisterMemory } from './register-memory';
import { context, frame, recordingHooks, valid } from './testing/program-fixtures';

const FLOW_TABLE = JSON.parse(
  readFileSync(join(__dirname, '..', '..', '..', '..', 'programs', 'flow-table.json'), 'utf8'),
) as Partial<TenantProgram>;

/** flow-table.json with `slots` cells per register, as the allocator's page table would give it. */
function flowTable(slots: number) {
  const memory = new RegisterMemory(1, 2 * slots);
  const pageTable = {
    keys: { stage: 0, offset: 0, amount: slots },
    counts: { stage: 0, offset: slots, amount: slots },
  };
  return compileProgram(valid(FLOW_TABLE), pageTable, memory, recordingHooks());
}

/** The slot a source lands in: CRC32 of its address bytes, bound to 65536 by the program, wrapped by the page table. */
function slotOf(source: number, slots: number): number {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(source);
  return (crc32(bytes, 4) % 65536) % slots;
}

describe('flow-table.json: per-source counts in a one-way hash table, with its hit ratio', () => {
  it('counts what a model of the table predicts: first source in a slot keeps it, later ones miss', () => {
    const random = mulberry32(4);
    for (const slots of [16, 64, 1024]) {
      const program = flowTable(slots);
      const owner = new Map<number, number>();
      const counts = new Map<number, number>();
      let misses = 0;
      const sources = Array.from({ length: 200 }, () => (0x0a000000 + Math.floor(random() * 2 ** 20)) >>> 0);
      for (let n = 0; n < 2000; n++) {
        const source = sources[Math.floor(random() ** 2 * sources.length)];
        program.run(context(frame({ src: ipv4ToString(source) })));
        const slot = slotOf(source, slots);
        if (!owner.has(slot)) owner.set(slot, source);
        if (owner.get(slot) === source) counts.set(slot, (counts.get(slot) ?? 0) + 1);
        else misses += 1;
      }
      assert.equal(program.counter('packets', 0).packets, 2000);
      assert.equal(program.counter('misses', 0).packets, misses, `${slots} slots`);
      for (const [slot, source] of owner) {
        assert.equal(program.memory.read('keys', slot), BigInt(source));
        assert.equal(program.memory.read('counts', slot), BigInt(counts.get(slot) ?? 0));
      }
    }
  });

  it('leaves the table alone for frames that are not IPv4', () => {
    const program = flowTable(8);
    program.run(context(frame({ src: '10.0.0.1' })));
    const arp = buildFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: 'ff:ff:ff:ff:ff:ff',
      etherType: 0x0806,
      payload: Buffer.alloc(28),
    });
    for (let i = 0; i < 5; i++) program.run(context(arp));
    const slot = slotOf(0x0a000001, 8);
    assert.equal(program.memory.read('keys', slot), 0x0a000001n);
    assert.equal(program.memory.read('counts', slot), 1n);
    assert.equal(program.counter('packets', 0).packets, 1);
    assert.equal(program.counter('misses', 0).packets, 0);
  });
});
