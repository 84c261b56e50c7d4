import { Inject, Injectable } from '@nestjs/common';
import {
  CIRCUIT_KEYS,
  CircuitMode,
  INBOX_MAX_ENTRIES,
  INBOX_MESSAGE_FIELD,
  InboxMessage,
  injectTraceIntoStreamFields,
  queueCircuitKeysCreation,
  queueCircuitKeysDeletion,
  REDIS_CLIENT,
  REDIS_KEYS,
  VM_KEYS,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { CircuitRecord } from './circuit-record';
import type { QuotaCharge } from './circuit-quota';

// The scripts touch only `ops:{circuits}:*` keys, all passed in KEYS: one slot, so they also run on Redis Cluster.

/**
 * Charges every quota or none: fails on the first that would pass its limit, with its current use. The charges are
 * kept in the record, so teardown refunds exactly what was taken even if the limits changed since.
 */
const CREATE_SCRIPT = `
local charges = cjson.decode(ARGV[2])
for i, charge in ipairs(charges) do
  local used = tonumber(redis.call('HGET', KEYS[5], charge.field) or '0')
  if used + charge.amount > charge.limit then return {i, used} end
end
for _, charge in ipairs(charges) do redis.call('HINCRBY', KEYS[5], charge.field, charge.amount) end
redis.call('HSET', KEYS[1], 'charges', ARGV[2], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return {0, 0}`;

/** Marks a circuit closing (the first reason wins), refunds its quota once, drops it from its VMs' grant sets. */
const BEGIN_TEARDOWN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HSETNX', KEYS[1], 'closing', ARGV[2]) == 1 then
  for _, charge in ipairs(cjson.decode(redis.call('HGET', KEYS[1], 'charges') or '[]')) do
    if redis.call('HINCRBY', KEYS[4], charge.field, -charge.amount) <= 0 then redis.call('HDEL', KEYS[4], charge.field) end
  end
end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return redis.call('HGET', KEYS[1], 'closing')`;

/** Opening -> open, unless a teardown got there first. */
const COMMIT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'closing') == 1 then return 0 end
redis.call('HDEL', KEYS[1], 'opening')
return 1`;

/** Returns the VM already listening on the service in this tenant, or takes the name and returns nothing. */
/**
 * KEYS: the service's listeners (tenant -> VM), the VM's services. ARGV: tenant, VM, service, the most services a VM
 * may listen on. Returns the holder's VM id when the tenant already has one, the VM's count when it is at the most
 * (each service name is a key of its own: unbounded, a VM could fill Redis through the operator), else false.
 */
const LISTEN_SCRIPT = `
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder then return holder end
local listening = redis.call('SCARD', KEYS[2])
if listening >= tonumber(ARGV[4]) then return listening end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return false`;

const UNLISTEN_SCRIPT = `
redis.call('SREM', KEYS[2], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`;

/** What asking to listen did: the tenant's holder of the name, the VM at its most services, or now listening. */
export type ListenOutcome = { holder: string } | { full: number } | { listening: true };

/** One ring's figures for the lab view (GET /lab/circuits). */
export interface RingStats {
  entriesAdded: number;
  length: number;
  bytes: number;
}

/**
 * All Redis I/O of listeners and circuits: the operator's records (`ops:{circuits}:*`), each circuit's own keys
 * (control hash and rings), and the VMs' inboxes.
 */
@Injectable()
export class CircuitsRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /** Takes the service name in the tenant for `vm`; returns the VM that already holds it instead, if any. */
  async addListener(tenant: string, service: string, vm: string, maxPerVm: number): Promise<ListenOutcome> {
    const outcome = await this.redis.eval(
      LISTEN_SCRIPT,
      2,
      REDIS_KEYS.serviceListeners(service),
      REDIS_KEYS.vmListeners(vm),
      tenant,
      vm,
      service,
      maxPerVm,
    );
    if (typeof outcome === 'string') return { holder: outcome };
    if (typeof outcome === 'number') return { full: outcome };
    return { listening: true };
  }

  /** False when `vm` does not hold the service name in its tenant. */
  async removeListener(tenant: string, service: string, vm: string): Promise<boolean> {
    const removed = await this.redis.eval(
      UNLISTEN_SCRIPT,
      2,
      REDIS_KEYS.serviceListeners(service),
      REDIS_KEYS.vmListeners(vm),
      tenant,
      vm,
      service,
    );
    return removed === 1;
  }

  /** tenant -> listening VM, for every tenant with a listener on the service. */
  async listenersOf(service: string): Promise<Record<string, string>> {
    return this.redis.hgetall(REDIS_KEYS.serviceListeners(service));
  }

  async servicesOf(vm: string): Promise<string[]> {
    return (await this.redis.smembers(REDIS_KEYS.vmListeners(vm))).sort();
  }

  /**
   * Writes the circuit's record (state `opening`) and indexes, and takes its quota charges, in one atomic step: two
   * operators creating circuits at once cannot both take the last of a quota. Returns the charge that would
   * exceed its limit, and its current use, instead of writing anything.
   */
  async create(
    record: CircuitRecord,
    charges: readonly QuotaCharge[],
  ): Promise<{ exceeded: QuotaCharge; used: number } | undefined> {
    const stored = charges.map((c) => ({ field: `${c.quota}:${c.holder}`, amount: c.amount, limit: c.limit }));
    const [failed, used] = (await this.redis.eval(
      CREATE_SCRIPT,
      5,
      REDIS_KEYS.circuit(record.id),
      REDIS_KEYS.circuitIndex,
      REDIS_KEYS.vmCircuits(record.a.vm),
      REDIS_KEYS.vmCircuits(record.b.vm),
      REDIS_KEYS.circuitUsage,
      record.id,
      JSON.stringify(stored),
      ...Object.entries(toHash(record)).flat(),
    )) as [number, number];
    return failed === 0 ? undefined : { exceeded: charges[failed - 1], used };
  }

  /** The control hash (acknowledged positions at zero) and both rings as empty streams, in one MULTI (one slot). */
  async createKeys(record: CircuitRecord): Promise<void> {
    await queueCircuitKeysCreation(this.redis.multi(), {
      id: record.id,
      mode: record.mode,
      capacity: record.capacity,
      vmA: record.a.vm,
      vmB: record.b.vm,
    }).exec();
  }

  /** False when a teardown began before setup finished. */
  async commit(id: string): Promise<boolean> {
    return (await this.redis.eval(COMMIT_SCRIPT, 1, REDIS_KEYS.circuit(id))) === 1;
  }

  async find(id: string): Promise<CircuitRecord | undefined> {
    return toRecord(await this.redis.hgetall(REDIS_KEYS.circuit(id)));
  }

  /** The circuits `vm` is an endpoint of (opening and open; closing ones have left the set). */
  async circuitsOf(vm: string): Promise<CircuitRecord[]> {
    return this.findMany(await this.redis.smembers(REDIS_KEYS.vmCircuits(vm)));
  }

  /** Every circuit record, in any state: what the reaper walks. */
  async all(): Promise<CircuitRecord[]> {
    return this.findMany(await this.redis.smembers(REDIS_KEYS.circuitIndex));
  }

  /**
   * Starts a teardown: the record turns `closing` (kept until finishTeardown, so an interrupted teardown is found
   * and finished), its quota is refunded once, and it leaves its VMs' grant sets. Returns the reason it is closing
   * for (the first teardown's), or undefined when the record is already gone.
   */
  async beginTeardown(record: CircuitRecord, reason: string): Promise<string | undefined> {
    const closing = await this.redis.eval(
      BEGIN_TEARDOWN_SCRIPT,
      4,
      REDIS_KEYS.circuit(record.id),
      REDIS_KEYS.vmCircuits(record.a.vm),
      REDIS_KEYS.vmCircuits(record.b.vm),
      REDIS_KEYS.circuitUsage,
      record.id,
      reason,
    );
    return typeof closing === 'string' ? closing : undefined;
  }

  async deleteKeys(id: string): Promise<void> {
    await queueCircuitKeysDeletion(this.redis.multi(), id).exec();
  }

  /** Deletes the record; true only for the one caller that actually deleted it. */
  async finishTeardown(id: string): Promise<boolean> {
    const results = await this.redis.multi().del(REDIS_KEYS.circuit(id)).srem(REDIS_KEYS.circuitIndex, id).exec();
    return results?.[0]?.[1] === 1;
  }

  /** Appends to the VM's inbox, with the active trace context, so the VM can continue the request's trace. */
  async appendToInbox(vm: string, message: InboxMessage): Promise<void> {
    const fields = injectTraceIntoStreamFields({ [INBOX_MESSAGE_FIELD]: JSON.stringify(message) });
    await this.redis.xadd(VM_KEYS.inbox(vm), 'MAXLEN', '~', INBOX_MAX_ENTRIES, '*', ...Object.entries(fields).flat());
  }

  async deleteInbox(vm: string): Promise<void> {
    await this.redis.del(VM_KEYS.inbox(vm));
  }

  /**
   * Per circuit, its two rings' figures in one round trip: entries ever written (XINFO STREAM's entries-added), entries
   * held and an estimate of the bytes held (MEMORY USAGE of a few stream nodes). Zeros for a ring that is gone.
   */
  async ringStats(ids: readonly string[]): Promise<{ a2b: RingStats; b2a: RingStats }[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      for (const direction of ['a2b', 'b2a'] as const) {
        const key = CIRCUIT_KEYS.ring(id, direction);
        pipeline.call('XINFO', 'STREAM', key).call('MEMORY', 'USAGE', key, 'SAMPLES', 5);
      }
    }
    const replies = (await pipeline.exec()) ?? [];
    const ring = (index: number): RingStats => {
      const [error, info] = replies[index] ?? [];
      const fields = error || !Array.isArray(info) ? [] : (info as unknown[]);
      const field = (name: string): number => Number(fields[fields.indexOf(name) + 1] ?? 0) || 0;
      return {
        entriesAdded: fields.includes('entries-added') ? field('entries-added') : 0,
        length: fields.includes('length') ? field('length') : 0,
        bytes: Number(replies[index + 1]?.[1] ?? 0) || 0,
      };
    };
    return ids.map((_, i) => ({ a2b: ring(4 * i), b2a: ring(4 * i + 2) }));
  }

  private async findMany(ids: readonly string[]): Promise<CircuitRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(REDIS_KEYS.circuit(id));
    const results = (await pipeline.exec()) ?? [];
    return results
      .flatMap(([, hash]) => toRecord(hash as Record<string, string>) ?? [])
      .sort((x, y) => x.createdAt - y.createdAt || x.id.localeCompare(y.id));
  }
}

function toHash(record: CircuitRecord): Record<string, string> {
  return {
    id: record.id,
    mode: record.mode,
    service: record.service,
    capacityEntries: String(record.capacity.entries),
    capacityBytes: String(record.capacity.bytes),
    aVm: record.a.vm,
    aTenant: record.a.tenant,
    bVm: record.b.vm,
    bTenant: record.b.tenant,
    createdAt: String(record.createdAt),
    ...(record.state === 'opening' ? { opening: '1' } : {}),
    ...(record.closeReason === undefined ? {} : { closing: record.closeReason }),
  };
}

function toRecord(hash: Record<string, string>): CircuitRecord | undefined {
  if (!hash['id'] || !hash['aVm'] || !hash['bVm']) return undefined;
  const closeReason = hash['closing'];
  return {
    id: hash['id'],
    mode: hash['mode'] as CircuitMode,
    service: hash['service'],
    capacity: { entries: Number(hash['capacityEntries']), bytes: Number(hash['capacityBytes']) },
    a: { vm: hash['aVm'], tenant: hash['aTenant'] },
    b: { vm: hash['bVm'], tenant: hash['bTenant'] },
    createdAt: Number(hash['createdAt']),
    state: closeReason !== undefined ? 'closing' : hash['opening'] ? 'opening' : 'open',
    ...(closeReason === undefined ? {} : { closeReason }),
  };
}
