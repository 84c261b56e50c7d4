import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  type AttackerRingLimits,
  attackerRedisBytesMax,
  CIRCUIT_KEYS,
  ENTRY_FIELDS,
  ENTRY_KINDS,
  INBOX_MAX_ENTRIES,
  INBOX_MESSAGE_FIELD,
  INBOX_MESSAGE_MAX_BYTES,
  MAX_ENTRY_BYTES,
  MAX_FRAME_BYTES,
  MAX_RING_ENTRY_BYTES,
  PORT_CAPACITY_BYTES,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_FIELDS,
  PORT_ENTRY_META_BYTES,
  PORT_KEYS,
  PORT_TX_MEMORY_BYTES,
  queueCircuitKeysCreation,
  REDIS_PROTO_MAX_BULK_BYTES,
  SWITCH_CONSUMER_GROUP,
  VM_KEYS,
  vmAclRules,
  vmAclUser,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';

/** Non-payload bytes a reader accepts per entry; every entry below carries exactly this much beside its payload. */
const META = MAX_RING_ENTRY_BYTES - MAX_ENTRY_BYTES;
/**
 * Small quotas, so the test fills them whole in seconds; the formula is the same at any size. The VM's entries cap
 * (VM_RING_ENTRIES) is below circuits × entriesPerRing, as at the operator's defaults, so it is what bounds the rings.
 */
const LIMITS: AttackerRingLimits = {
  circuits: 4,
  entriesPerRing: 16_384,
  ringEntries: 32_768,
  ringPayloadBytes: 512 * 1024,
};

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** Fields of one entry: `payloadField` with `payload`, plus a padding field, `META` bytes beside the payload in all. */
function paddedFields(payloadField: string, payload: Buffer, extra: (string | Buffer)[] = []): (string | Buffer)[] {
  const used = payloadField.length + extra.reduce((sum, field) => sum + field.length, 0) + 1;
  return [...extra, payloadField, payload, 'x', Buffer.alloc(META - used, 1)];
}

/** XADDs `count` entries in pipelines of 256. */
async function fill(
  client: Redis,
  key: string,
  count: number,
  fields: (string | Buffer)[],
  mkstream = true,
): Promise<void> {
  for (let done = 0; done < count; done += 256) {
    const pipeline = client.pipeline();
    for (let i = done; i < Math.min(count, done + 256); i++) {
      if (mkstream) pipeline.xadd(key, '*', ...fields);
      else pipeline.xadd(key, 'NOMKSTREAM', '*', ...fields);
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
}

/**
 * attacker_redis_bytes_max on a real Redis: one VM, with its own ACL credentials, fills everything it may write to
 * its caps with the largest entries its readers accept (tx, its outbound rings), and the switch and the operator fill
 * what they write for it (rx, inbox, the switch's pending list on tx): Redis's memory grows by less than the bound.
 */
describe('attacker_redis_bytes_max: one VM filling everything it may fill', () => {
  let redis: TestRedis;
  let admin: Redis;
  let vm: Redis;

  before(async () => {
    redis = await startTestRedis({ maxMemory: '1gb' });
    admin = new Redis(redis.url);
  });

  after(async () => {
    vm?.disconnect();
    admin?.disconnect();
    await redis?.stop();
  });

  it('runs on a Redis with maxmemory, noeviction and the bulk-length limit', async () => {
    assert.deepEqual(await admin.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
    assert.deepEqual(await admin.config('GET', 'maxmemory'), ['maxmemory', String(1024 ** 3)]);
    assert.deepEqual(await admin.config('GET', 'proto-max-bulk-len'), [
      'proto-max-bulk-len',
      String(REDIS_PROTO_MAX_BULK_BYTES),
    ]);
  });

  it('stays under the bound', { timeout: 120_000 }, async () => {
    const before = await usedMemory(admin);
    const vmId = `vm-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    const circuits = Array.from({ length: LIMITS.circuits }, () => ({ id: randomUUID(), side: 'a' as const }));
    const perRing = LIMITS.ringPayloadBytes / LIMITS.circuits;
    // The operator gives the VM circuits whose capacities together take its whole entries cap.
    const entriesPerRing = Math.min(LIMITS.entriesPerRing, LIMITS.ringEntries / LIMITS.circuits);
    for (const { id } of circuits) {
      const capacity = { entries: entriesPerRing, bytes: perRing };
      await queueCircuitKeysCreation(admin.multi(), {
        id,
        mode: 'datagram',
        capacity,
        vmA: vmId,
        vmB: 'vm-peer',
      }).exec();
    }
    await admin.xgroup('CREATE', PORT_KEYS.tx(vmId), SWITCH_CONSUMER_GROUP, '0', 'MKSTREAM');
    await admin.call('ACL', 'SETUSER', vmAclUser(vmId), ...vmAclRules(vmId, { password }, circuits));
    vm = new Redis(redis.anonymousUrl, { username: vmAclUser(vmId), password, enableReadyCheck: false });

    // The VM: its tx to the switch's bound in memory (its tx-read script deletes the newest entries over it, see
    // tx-read.int.spec.ts), each frame as large as allowed; its rings to capacity and beyond by FIN and RST, payload
    // spread over every entry.
    const tx = PORT_KEYS.tx(vmId);
    const frame = Buffer.alloc(MAX_FRAME_BYTES, 2);
    const txMemory = async (): Promise<number> => Number(await admin.call('MEMORY', 'USAGE', tx, 'SAMPLES', '0'));
    let txEntries = 0;
    for (let step = 1024; step >= 1; step /= 2) {
      // Whole steps while they stay under the bound, then halves: the most entries the switch lets the stream keep,
      // every one read by the switch and pending in its group (the bound counts the pending list).
      while (txEntries + step <= PORT_CAPACITY_FRAMES) {
        await fill(vm, tx, step, paddedFields(PORT_ENTRY_FIELDS.frame, frame));
        await admin.xreadgroup('GROUP', SWITCH_CONSUMER_GROUP, 'switch-1', 'STREAMS', tx, '>');
        if ((await txMemory()) > PORT_TX_MEMORY_BYTES) {
          const newest = (await admin.xrevrange(tx, '+', '-', 'COUNT', step)).map(([id]) => id);
          await admin.xack(tx, SWITCH_CONSUMER_GROUP, ...newest);
          await admin.xdel(tx, ...newest);
          break;
        }
        txEntries += step;
      }
    }
    const payload = Buffer.alloc(perRing / entriesPerRing, 3);
    const kind = [ENTRY_FIELDS.kind, ENTRY_KINDS.data];
    for (const { id } of circuits) {
      const ring = CIRCUIT_KEYS.ring(id, 'a2b');
      await fill(vm, ring, entriesPerRing, paddedFields(ENTRY_FIELDS.payload, payload, kind), false);
      await fill(vm, ring, 2, paddedFields(ENTRY_FIELDS.payload, Buffer.alloc(0), kind), false);
    }
    // The switch: has filled rx to its bounds: PORT_CAPACITY_FRAMES frames, PORT_CAPACITY_BYTES of them, each entry
    // with all the meta bytes an entry may carry.
    assert.ok(txEntries > 0 && (await txMemory()) <= PORT_TX_MEMORY_BYTES);
    const rxFrame = Buffer.alloc(PORT_CAPACITY_BYTES / PORT_CAPACITY_FRAMES, 5);
    const rxFields = [PORT_ENTRY_FIELDS.frame, rxFrame, 'otel.tracestate', Buffer.alloc(PORT_ENTRY_META_BYTES - 16, 6)];
    await fill(admin, PORT_KEYS.rx(vmId), PORT_CAPACITY_FRAMES, rxFields);
    // The operator: the inbox at its cap, with the largest messages.
    const message = Buffer.alloc(INBOX_MESSAGE_MAX_BYTES - INBOX_MESSAGE_FIELD.length, 4);
    await fill(admin, VM_KEYS.inbox(vmId), INBOX_MAX_ENTRIES, [INBOX_MESSAGE_FIELD, message]);

    assert.equal(await admin.xlen(tx), txEntries);
    const held = (await usedMemory(admin)) - before;
    const bound = attackerRedisBytesMax(LIMITS);
    process.stdout.write(`# held ${held} bytes, bound ${bound} bytes (${((100 * held) / bound).toFixed(1)} %)\n`);
    assert.ok(held <= bound, `one VM holds ${held} bytes, over the bound of ${bound}`);
  });
});
