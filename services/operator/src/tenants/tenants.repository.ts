import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS, TENANT_VLAN_RANGE } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { TenantCaps } from './tenant-caps';
import type { TenantRecord } from './tenant-record';

/**
 * Declares a tenant and gives it a VLAN id, in one step. KEYS: the tenant's hash, the tenant index, the tenant ->
 * VLAN hash, the last VLAN given out. ARGV: id, secret sha256, caps JSON, createdAt, mode, VLAN range min and max,
 * and the VLAN it had before (0 for none). Mode `create` (admin API) refuses a tenant that exists (-1); mode
 * `declare` (the lab, at every operator start; and the operator restoring what Redis lost) updates its secret hash
 * and caps and keeps its VLAN and creation time. A new VLAN is the one it had before if that is free, else the first
 * free id after the last one given out (wrapping from 4094 to 1); 0 when every id in the range is taken, and then
 * nothing is written. All keys share the tag `{vms}`: one slot, so it also runs on Redis Cluster.
 */
const DECLARE_SCRIPT = `
local exists = redis.call('EXISTS', KEYS[1]) == 1
if exists and ARGV[5] == 'create' then return -1 end
local vlan = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '')
if not vlan then
  local min, max = tonumber(ARGV[6]), tonumber(ARGV[7])
  local size = max - min + 1
  if redis.call('HLEN', KEYS[3]) >= size then return 0 end
  local used = {}
  for _, taken in ipairs(redis.call('HVALS', KEYS[3])) do used[tonumber(taken)] = true end
  local before = tonumber(ARGV[8])
  if before >= min and before <= max and not used[before] then vlan = before end
  local last = tonumber(redis.call('GET', KEYS[4]) or '') or (min - 1)
  for step = 1, size do
    if vlan then break end
    local candidate = min + ((last - min + step) % size)
    if not used[candidate] then vlan = candidate end
  end
  if not vlan then return 0 end
  redis.call('HSET', KEYS[3], ARGV[1], vlan)
  redis.call('SET', KEYS[4], vlan)
end
if not exists then redis.call('HSET', KEYS[1], 'createdAt', ARGV[4]) end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'secretSha256', ARGV[2], 'caps', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return vlan`;

/**
 * Removes a tenant and returns its VLAN id to the pool: 1 when it existed, 0 when it did not, and -1 (nothing
 * removed) while any VM record of the tenant is left, alive or not. The registry writes a VM only in one script that
 * checks its tenant is still there (registry.repository.ts, CLAIM_SCRIPT), and this checks in one step that no VM
 * is: so a VM registering while its tenant is deleted either lands first (and the deletion is refused) or finds no
 * tenant, and the VLAN never goes back to the pool under a live VM. KEYS: the tenant's hash, the tenant index, the
 * tenant -> VLAN hash, the registry index. ARGV: id, the key prefix of VM hashes. O(VMs).
 */
const DELETE_SCRIPT = `
for _, vm in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  if redis.call('HGET', ARGV[2] .. vm, 'tenant') == ARGV[1] then return -1 end
end
local existed = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return existed`;

export type DeclareOutcome = { vlan: number } | 'exists' | 'no-vlan-left';

/** All Redis I/O of declared tenants: a hash per tenant, an index, and their VLAN ids beside the VM registry. */
@Injectable()
export class TenantsRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /** `tenant.vlan`: the VLAN it had before Redis lost it, given again if free. */
  async declare(
    tenant: Omit<TenantRecord, 'vlan'> & { vlan?: number },
    mode: 'create' | 'declare',
  ): Promise<DeclareOutcome> {
    const result = Number(
      await this.redis.eval(
        DECLARE_SCRIPT,
        4,
        REDIS_KEYS.tenant(tenant.id),
        REDIS_KEYS.tenantIndex,
        REDIS_KEYS.tenantVlans,
        REDIS_KEYS.lastTenantVlan,
        tenant.id,
        tenant.secretSha256,
        JSON.stringify(tenant.caps),
        tenant.createdAt,
        mode,
        TENANT_VLAN_RANGE.min,
        TENANT_VLAN_RANGE.max,
        tenant.vlan ?? 0,
      ),
    );
    if (result === -1) return 'exists';
    if (result === 0) return 'no-vlan-left';
    return { vlan: result };
  }

  async find(id: string): Promise<TenantRecord | undefined> {
    const [[, hash], [, vlan]] = ((await this.redis
      .multi()
      .hgetall(REDIS_KEYS.tenant(id))
      .hget(REDIS_KEYS.tenantVlans, id)
      .exec()) ?? []) as [[unknown, Record<string, string>], [unknown, string | null]];
    return toRecord(hash, vlan);
  }

  async list(): Promise<TenantRecord[]> {
    const ids = (await this.redis.smembers(REDIS_KEYS.tenantIndex)).sort();
    const found = await Promise.all(ids.map((id) => this.find(id)));
    return found.flatMap((record) => record ?? []);
  }

  /** `has-vms` (nothing removed) while a VM record of the tenant is left: see DELETE_SCRIPT. */
  async remove(id: string): Promise<'removed' | 'missing' | 'has-vms'> {
    const removed = await this.redis.eval(
      DELETE_SCRIPT,
      4,
      REDIS_KEYS.tenant(id),
      REDIS_KEYS.tenantIndex,
      REDIS_KEYS.tenantVlans,
      REDIS_KEYS.vmIndex,
      id,
      REDIS_KEYS.vm(''),
    );
    if (removed === -1) return 'has-vms';
    return removed === 1 ? 'removed' : 'missing';
  }
}

function toRecord(hash: Record<string, string> | undefined, vlan: string | null): TenantRecord | undefined {
  if (!hash?.['id'] || !hash['secretSha256'] || !vlan) return undefined;
  return {
    id: hash['id'],
    secretSha256: hash['secretSha256'],
    createdAt: Number(hash['createdAt']),
    caps: JSON.parse(hash['caps'] ?? '{}') as Partial<TenantCaps>,
    vlan: Number(vlan),
  };
}
