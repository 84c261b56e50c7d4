import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS, TENANT_VLAN_RANGE } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/**
 * Returns the tenant's VLAN id if it has one; otherwise takes the first free id after the last one given out
 * (wrapping from 4094 to 1), records it for the tenant and as the last given out, and returns it. Returns 0 when
 * every id in the range is taken. Both keys share the tag `{vms}`: one slot, so it also runs on Redis Cluster.
 */
const VLAN_OF_SCRIPT = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return tonumber(existing) end
local min, max = tonumber(ARGV[2]), tonumber(ARGV[3])
local size = max - min + 1
if redis.call('HLEN', KEYS[1]) >= size then return 0 end
local used = {}
for _, vlan in ipairs(redis.call('HVALS', KEYS[1])) do used[tonumber(vlan)] = true end
local last = tonumber(redis.call('GET', KEYS[2]) or '') or (min - 1)
for step = 1, size do
  local candidate = min + ((last - min + step) % size)
  if not used[candidate] then
    redis.call('HSET', KEYS[1], ARGV[1], candidate)
    redis.call('SET', KEYS[2], candidate)
    return candidate
  end
end
return 0`;

/** All Redis I/O of tenant VLAN ids: a hash tenant -> VLAN id and the last id given out, beside the registry. */
@Injectable()
export class TenantVlanRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /**
   * The tenant's VLAN id, given to it now if it has none yet (atomically: two operators registering the first VMs
   * of two tenants at once never hand out the same id). Undefined when all of TENANT_VLAN_RANGE is taken.
   */
  async vlanOf(tenant: string): Promise<number | undefined> {
    const vlan = await this.redis.eval(
      VLAN_OF_SCRIPT,
      2,
      REDIS_KEYS.tenantVlans,
      REDIS_KEYS.lastTenantVlan,
      tenant,
      TENANT_VLAN_RANGE.min,
      TENANT_VLAN_RANGE.max,
    );
    return vlan === 0 ? undefined : Number(vlan);
  }
}
