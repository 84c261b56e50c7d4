import { REDIS_KEYS } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/**
 * Writes the operator's registry as it stands after these VMs registered: a record per VM and a VLAN per tenant
 * (1, 2, ... in order of first appearance). For tests and benchmarks of the switch, which reads nothing else of the
 * operator's; the VMs' control URLs point nowhere, since nothing calls them.
 */
export async function seedVmRegistry(admin: Redis, tenantOf: Readonly<Record<string, string>>): Promise<void> {
  const multi = admin.multi();
  const vlans = new Map<string, number>();
  Object.entries(tenantOf).forEach(([vm, tenant], i) => {
    if (!vlans.has(tenant)) vlans.set(tenant, vlans.size + 1);
    multi.hset(REDIS_KEYS.vm(vm), { id: vm, tenant, url: 'http://127.0.0.1:1', registeredAt: i, lastHeartbeatAt: i });
    multi.zadd(REDIS_KEYS.vmIndex, i, vm);
  });
  multi.hset(REDIS_KEYS.tenantVlans, Object.fromEntries(vlans));
  await multi.exec();
}
