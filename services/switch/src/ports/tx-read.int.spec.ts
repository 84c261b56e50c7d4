import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  MAX_FRAME_BYTES,
  MAX_FRAMES_PER_ENTRY,
  packPortFrames,
  PORT_CAPACITY_BYTES,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_FIELDS,
  PORT_ENTRY_META_BYTES,
  PORT_KEYS,
  PORT_TX_MEMORY_BYTES,
  SWITCH_CONSUMER_GROUP,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import type { SwitchPort } from '../pipeline/switch-port';
import { MEMORY_CHECK_EVERY, PortReader } from './port-io';

const { frame: F, frames: M } = PORT_ENTRY_FIELDS;
const CONSUMER = 'switch-1';

/**
 * The tx-read script (tx-read.script.ts) on a real Redis, against entries a VM writing straight to its stream can make:
 * what it counts of an entry it drops over the tx bound is what the switch counts of the same entry when it reads it,
 * and its walk of an entry stops at the switch's own limit, however large the entry (issue 10).
 */
describe('the tx-read script against hostile tx entries, on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let connection: Redis;

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
      connection = new Redis(redis.url);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    admin?.disconnect();
    connection?.disconnect();
    await redis?.stop();
  });

  let ports = 0;
  /** A port of its own, whose tx stream holds `filler` entries of one frame, then `fields` as one entry. */
  async function portWith(fields: (string | Buffer)[], filler: number): Promise<SwitchPort> {
    ports += 1;
    const port: SwitchPort = { no: ports, vm: `vm-${randomBytes(3).toString('hex')}`, tenant: 't', vlan: 10 };
    const tx = PORT_KEYS.tx(port.vm);
    await admin.xgroup('CREATE', tx, SWITCH_CONSUMER_GROUP, '0', 'MKSTREAM');
    for (let i = 0; i < filler; i++) await admin.xadd(tx, '*', F, 'x');
    await admin.xadd(tx, '*', ...fields);
    return port;
  }

  /** Frames the script counts of `fields` when it drops the entry over the tx bound, and their bytes. */
  async function countedOverBound(fields: (string | Buffer)[]): Promise<{ frames: number; bytes: number }> {
    const port = await portWith(fields, 1);
    // A bound of 1: the filler stays, the entry after it goes, unread.
    const { outcomes } = await new PortReader(connection, CONSUMER, 1).read([{ port, count: 0 }]);
    assert.equal(await admin.xlen(PORT_KEYS.tx(port.vm)), 1, 'the entry over the bound is deleted');
    return { frames: outcomes[0].overBound, bytes: outcomes[0].overBoundBytes };
  }

  /** Frames the switch counts of `fields` when it reads the entry (the ledger's count, and each frame's drop). */
  async function countedRead(fields: (string | Buffer)[]): Promise<number> {
    const port = await portWith(fields, 0);
    const reader = new PortReader(connection, CONSUMER);
    // A reader reads its port's pending entries first (none), then new ones.
    assert.equal((await reader.read([{ port, count: 10 }])).outcomes[0].pendingDone, true);
    const { entries, outcomes } = await reader.read([{ port, count: 10 }]);
    assert.equal(outcomes[0].read, 1, 'the entry is read');
    assert.ok(entries.length > 0);
    return entries[0].entry.frames;
  }

  /** XADDs `count` entries of `fields` to `port`'s tx, in pipelines of 256. */
  async function fill(port: SwitchPort, count: number, fields: (string | Buffer)[]): Promise<void> {
    for (let done = 0; done < count; done += 256) {
      const pipeline = admin.pipeline();
      for (let i = done; i < Math.min(count, done + 256); i++) pipeline.xadd(PORT_KEYS.tx(port.vm), '*', ...fields);
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    }
  }

  const txMemory = async (port: SwitchPort): Promise<number> =>
    Number(await admin.call('MEMORY', 'USAGE', PORT_KEYS.tx(port.vm), 'SAMPLES', '0'));

  /** A lone frame's entry with `metaBytes` of fields besides the frame: a sender's whole trace context, say. */
  const frameEntry = (frame: Buffer, metaBytes: number): (string | Buffer)[] => {
    const padding = metaBytes - F.length - 'otel.tracestate'.length;
    return [F, frame, 'otel.tracestate', Buffer.alloc(padding, 0x61)];
  };

  const records = (n: number): Buffer =>
    packPortFrames(Array.from({ length: n }, (_, i) => ({ frame: Buffer.from([i & 0xff]) })));

  it('counts an entry of 1 MiB of empty records as MAX_FRAMES_PER_ENTRY + 1 frames, with all its bytes', async () => {
    // 349 525 records of 3 bytes and a 1-byte remainder: walked to the end, the script would count 349 526.
    const payload = Buffer.alloc(1024 * 1024);
    const counted = await countedOverBound([M, payload]);
    assert.equal(counted.frames, MAX_FRAMES_PER_ENTRY + 1);
    assert.equal(counted.bytes, payload.length + M.length);
  });

  it('counts each hostile entry as the switch does when it reads it, so the counters agree whichever drops it', async () => {
    const cases: [string, (string | Buffer)[]][] = [
      ['a packed entry at the limit', [M, records(MAX_FRAMES_PER_ENTRY)]],
      ['one record over the limit', [M, records(MAX_FRAMES_PER_ENTRY + 1)]],
      ['3 000 empty records', [M, Buffer.alloc(9000)]],
      ['the limit, then a record cut short', [M, Buffer.concat([records(MAX_FRAMES_PER_ENTRY), Buffer.from([0, 9])])]],
      ['two records, then a record cut short', [M, Buffer.concat([records(2), Buffer.from([0xff, 0xff, 0])])]],
      ['an empty packed entry', [M, Buffer.alloc(0)]],
      ['two packed fields, the first of many records', [M, records(100), M, records(3)]],
      ['two packed fields, the first of too many records', [M, records(MAX_FRAMES_PER_ENTRY + 1), M, records(1)]],
      ['a single frame and a packed field', [F, 'x', M, records(50)]],
      ['two single frames', [F, 'x', F, 'y']],
      ['a single frame', [F, 'x']],
      ['no frame field', ['z', 'x']],
    ];
    const seen = [];
    for (const [name, fields] of cases) {
      seen.push({ name, overBound: (await countedOverBound(fields)).frames, read: await countedRead(fields) });
    }
    assert.deepEqual(
      seen.filter(({ overBound, read }) => overBound !== read),
      [],
      JSON.stringify(seen),
    );
    // And what the counts are: several frame fields are one frame, refused whole.
    assert.deepEqual(
      seen.map(({ read }) => read),
      [128, 129, 129, 129, 3, 1, 1, 1, 1, 1, 1, 1],
    );
  });

  it('keeps a tx stream of jumbo-frame entries to its memory bound, dropping the newest, never those handed out', async () => {
    const port = await portWith([F, 'first'], 0);
    const reader = new PortReader(connection, CONSUMER);
    await reader.read([{ port, count: 1 }]);
    const handedOut = await reader.read([{ port, count: 1 }]);
    assert.equal(handedOut.outcomes[0].read, 1, 'the first entry is read, and pending');
    // Entries at the entry bound, each a jumbo frame with its largest trace context: over 100 MiB unbounded.
    const fields = frameEntry(Buffer.alloc(MAX_FRAME_BYTES, 1), PORT_ENTRY_META_BYTES);
    await fill(port, PORT_CAPACITY_FRAMES - 1, fields);
    const before = await txMemory(port);
    assert.ok(before > 2 * PORT_TX_MEMORY_BYTES, `the stream takes ${before} bytes before the read`);

    let dropped = 0;
    let droppedBytes = 0;
    // The memory bound is checked every MEMORY_CHECK_EVERY rounds a port, then every round until it is under.
    let rounds = 0;
    for (; rounds < 64 && (await txMemory(port)) > PORT_TX_MEMORY_BYTES; rounds++) {
      const { outcomes } = await reader.read([{ port, count: 0 }]);
      dropped += outcomes[0].overBound;
      droppedBytes += outcomes[0].overBoundBytes;
    }
    // Its first check within MEMORY_CHECK_EVERY rounds, then a round per 1 024 entries deleted (about 5 800 here).
    assert.ok(rounds <= MEMORY_CHECK_EVERY + 8, `under the bound after ${rounds} rounds`);
    const after = await txMemory(port);
    assert.ok(after <= PORT_TX_MEMORY_BYTES, `${after} bytes left, over the bound of ${PORT_TX_MEMORY_BYTES}`);
    const left = await admin.xlen(PORT_KEYS.tx(port.vm));
    assert.equal(dropped, PORT_CAPACITY_FRAMES - left, 'every entry deleted is counted, one frame each');
    assert.equal(droppedBytes, dropped * fields.reduce((sum, field) => sum + field.length, 0));
    // The oldest stay, in order: the one handed out first, then the next entries written.
    const oldest = await admin.xrange(PORT_KEYS.tx(port.vm), '-', '+', 'COUNT', 2);
    assert.deepEqual(
      oldest.map(([, [, frame]]) => frame),
      ['first', Buffer.alloc(MAX_FRAME_BYTES, 1).toString()],
    );
  });

  it("keeps each port's tx to its own memory bound: its share of its tenant's budget", async () => {
    // Two ports of 1 000 jumbo-frame entries each (some 12 MiB): one with its tenant's share of 4 MiB, one with 16 MiB.
    const fields = frameEntry(Buffer.alloc(MAX_FRAME_BYTES, 1), PORT_ENTRY_META_BYTES);
    const small = await portWith(fields, 0);
    const large = await portWith(fields, 0);
    await fill(small, 999, fields);
    await fill(large, 999, fields);
    const bounds = new Map([
      [small.vm, 4 * 1024 * 1024],
      [large.vm, 16 * 1024 * 1024],
    ]);
    const reader = new PortReader(connection, CONSUMER, PORT_CAPACITY_FRAMES, (port) => bounds.get(port.vm) ?? 0, 1);
    for (let round = 0; round < 8; round++) {
      await reader.read([
        { port: small, count: 0 },
        { port: large, count: 0 },
      ]);
    }
    const smallAfter = await txMemory(small);
    const largeAfter = await txMemory(large);
    assert.ok(smallAfter <= 4 * 1024 * 1024, `${smallAfter} bytes left, over its 4 MiB`);
    assert.ok(smallAfter > 3 * 1024 * 1024, `${smallAfter} bytes left: trimmed to its bound, not below`);
    assert.equal(await admin.xlen(PORT_KEYS.tx(large.vm)), 1000, 'the other port, under its own bound, keeps all');
    assert.ok(largeAfter > 4 * 1024 * 1024);
  });

  it('leaves whole a tx stream as full as a vNIC ever makes one, every entry pending', async () => {
    // The vNIC's limits at their worst for memory: PORT_CAPACITY_FRAMES entries carrying PORT_CAPACITY_BYTES of frames,
    // each with PORT_ENTRY_META_BYTES of fields besides its frame, all read and not yet acknowledged.
    const frame = Buffer.alloc(PORT_CAPACITY_BYTES / PORT_CAPACITY_FRAMES, 2);
    const port = await portWith(frameEntry(frame, PORT_ENTRY_META_BYTES), 0);
    await fill(port, PORT_CAPACITY_FRAMES - 1, frameEntry(frame, PORT_ENTRY_META_BYTES));
    await admin.xreadgroup('GROUP', SWITCH_CONSUMER_GROUP, CONSUMER, 'STREAMS', PORT_KEYS.tx(port.vm), '>');
    const memory = await txMemory(port);
    process.stdout.write(`# a full vNIC tx takes ${memory} bytes, bound ${PORT_TX_MEMORY_BYTES}\n`);
    const checkingEveryRound = new PortReader(
      connection,
      CONSUMER,
      PORT_CAPACITY_FRAMES,
      () => PORT_TX_MEMORY_BYTES,
      1,
    );
    const { outcomes } = await checkingEveryRound.read([{ port, count: 0 }]);
    assert.equal(outcomes[0].overBound, 0, `${memory} bytes, over the bound`);
    assert.equal(await admin.xlen(PORT_KEYS.tx(port.vm)), PORT_CAPACITY_FRAMES);
  });
});
