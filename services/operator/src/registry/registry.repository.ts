import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { VmRecord } from './vm-record';

/**
 * Registers a VM in one step, checking what the registration was decided on (issue 10: checked and written apart,
 * concurrent registrations all passed maxVms, and a tenant deleted meanwhile kept a VM). KEYS: the VM's hash, the
 * registry index, the new token's key, the replaced token's key (or the new one again), the tenant's hash, the
 * tenant -> VLAN hash. ARGV: id, tenant, the token hash of the record the caller read ('' for none), the tenant's
 * secret sha256 and VLAN it admitted the VM with, maxVms, the oldest heartbeat still alive, registeredAt, the key
 * prefix of VM hashes, then the record's fields and values. Returns {0, live} when written; {-1, 0} when the tenant
 * is gone or was declared again (another secret or VLAN): its VLAN may be another tenant's now; {-2, 0} when the
 * id's record changed since it was read (another registration, a deregistration); {-3, live} when the tenant
 * already has maxVms other VMs with a live lease. The count walks the index: O(VMs), like the registry's list.
 * Every key shares the tag `{vms}` (the VM hashes walked included): one slot, so it also runs on Redis Cluster.
 */
const CLAIM_SCRIPT = `
if redis.call('HGET', KEYS[5], 'secretSha256') ~= ARGV[4] or redis.call('HGET', KEYS[6], ARGV[2]) ~= ARGV[5] then
  return {-1, 0}
end
if (redis.call('HGET', KEYS[1], 'tokenHash') or '') ~= ARGV[3] then return {-2, 0} end
local live, alive_since = 0, tonumber(ARGV[7])
for _, other in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if other ~= ARGV[1] then
    local vm = redis.call('HMGET', ARGV[9] .. other, 'tenant', 'lastHeartbeatAt')
    if vm[1] == ARGV[2] and (tonumber(vm[2]) or 0) >= alive_since then live = live + 1 end
  end
end
if live >= tonumber(ARGV[6]) then return {-3, live} end
if KEYS[4] ~= KEYS[3] then redis.call('DEL', KEYS[4]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('ZADD', KEYS[2], 'NX', ARGV[8], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1])
return {0, live}`;

/** What a registration was decided on, checked again when it is written (claim). */
export interface ClaimConditions {
  /** The token hash of the VM's record as the caller read it; undefined when there was none. */
  readTokenHash: string | undefined;
  /** The tenant as it admitted the VM: the secret hash it was checked against, and its VLAN. */
  tenantSecretSha256: string;
  tenantVlan: number;
  maxVms: number;
  /** A VM whose last heartbeat is at or after this is alive (now - VM_LEASE_MS). */
  aliveSince: number;
}

export type ClaimOutcome =
  | { claimed: true }
  | { claimed: false; reason: 'tenant-changed' | 'record-changed' }
  | { claimed: false; reason: 'max-vms'; live: number };

/**
 * All Redis I/O of the VM registry. Records are hashes; the index is a sorted set by registration time; a token
 * index maps the sha256 of each VM's API token to its id. All share the tag `{vms}`, so each MULTI is one slot.
 */
@Injectable()
export class RegistryRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async find(id: string): Promise<VmRecord | undefined> {
    const hash = await this.redis.hgetall(REDIS_KEYS.vm(id));
    return toRecord(hash);
  }

  async findIdByTokenHash(tokenHash: string): Promise<string | undefined> {
    return (await this.redis.get(REDIS_KEYS.vmToken(tokenHash))) ?? undefined;
  }

  /** Writes the record; `replacedTokenHash` is the token it replaces, which stops naming the VM in the same step. */
  async save(record: VmRecord, replacedTokenHash?: string): Promise<void> {
    const transaction = this.redis.multi();
    if (replacedTokenHash !== undefined && replacedTokenHash !== record.tokenHash) {
      transaction.del(REDIS_KEYS.vmToken(replacedTokenHash));
    }
    await transaction
      .hset(REDIS_KEYS.vm(record.id), recordFields(record))
      .zadd(REDIS_KEYS.vmIndex, 'NX', record.registeredAt, record.id)
      .set(REDIS_KEYS.vmToken(record.tokenHash), record.id)
      .exec();
  }

  /**
   * Writes a registration (a new VM, or a VM registering again) if the conditions it was decided on still hold, all
   * in one script (CLAIM_SCRIPT): concurrent registrations cannot pass maxVms together, nor land in a tenant deleted
   * meanwhile.
   */
  async claim(record: VmRecord, conditions: ClaimConditions): Promise<ClaimOutcome> {
    const newToken = REDIS_KEYS.vmToken(record.tokenHash);
    const replaced =
      conditions.readTokenHash !== undefined && conditions.readTokenHash !== record.tokenHash
        ? REDIS_KEYS.vmToken(conditions.readTokenHash)
        : newToken;
    const [code, live] = (await this.redis.eval(
      CLAIM_SCRIPT,
      6,
      REDIS_KEYS.vm(record.id),
      REDIS_KEYS.vmIndex,
      newToken,
      replaced,
      REDIS_KEYS.tenant(record.tenant),
      REDIS_KEYS.tenantVlans,
      record.id,
      record.tenant,
      conditions.readTokenHash ?? '',
      conditions.tenantSecretSha256,
      conditions.tenantVlan,
      conditions.maxVms,
      conditions.aliveSince,
      record.registeredAt,
      REDIS_KEYS.vm(''),
      ...Object.entries(recordFields(record)).flat(),
    )) as [number, number];
    if (code === 0) return { claimed: true };
    if (code === -3) return { claimed: false, reason: 'max-vms', live };
    return { claimed: false, reason: code === -1 ? 'tenant-changed' : 'record-changed' };
  }

  /** Returns false when the VM is not registered (so the caller can tell it to register again). */
  async touch(id: string, at: number): Promise<boolean> {
    // HSET only if the hash exists: a heartbeat must not resurrect a VM that was removed.
    const updated = await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastHeartbeatAt', ARGV[1]) return 1 end return 0",
      1,
      REDIS_KEYS.vm(id),
      at,
    );
    return updated === 1;
  }

  async remove(record: Pick<VmRecord, 'id' | 'tokenHash'>): Promise<boolean> {
    const results = await this.redis
      .multi()
      .del(REDIS_KEYS.vm(record.id))
      .zrem(REDIS_KEYS.vmIndex, record.id)
      .del(REDIS_KEYS.vmToken(record.tokenHash))
      .exec();
    return results?.[0]?.[1] === 1;
  }

  async list(): Promise<VmRecord[]> {
    const ids = await this.redis.zrange(REDIS_KEYS.vmIndex, 0, -1);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(REDIS_KEYS.vm(id));
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([, hash]) => toRecord(hash as Record<string, string>) ?? []);
  }
}

function recordFields(record: VmRecord): Record<string, string> {
  return {
    id: record.id,
    tenant: record.tenant,
    url: record.url,
    registeredAt: `${record.registeredAt}`,
    lastHeartbeatAt: `${record.lastHeartbeatAt}`,
    tokenHash: record.tokenHash,
    aclPasswordHash: record.aclPasswordHash,
    ...(record.vlan === undefined ? {} : { vlan: `${record.vlan}` }),
  };
}

function toRecord(hash: Record<string, string>): VmRecord | undefined {
  if (!hash['id'] || !hash['tenant'] || !hash['url']) return undefined;
  return {
    id: hash['id'],
    tenant: hash['tenant'],
    url: hash['url'],
    registeredAt: Number(hash['registeredAt']),
    lastHeartbeatAt: Number(hash['lastHeartbeatAt']),
    // Records written before VMs had credentials have none: no token matches them until they register again.
    tokenHash: hash['tokenHash'] ?? '',
    aclPasswordHash: hash['aclPasswordHash'] ?? '',
    ...(hash['vlan'] ? { vlan: Number(hash['vlan']) } : {}),
  };
}
