/**
 * Redis key schema. Keys that must live together (and be touched by one MULTI) share a hash tag in braces, so the
 * same code runs on Redis Cluster.
 */
export const REDIS_KEYS = {
  /** Hash: one registered VM (id, tenant, url, registeredAt, lastHeartbeatAt). */
  vm: (vmId: string): string => `registry:{vms}:vm:${vmId}`,
  /** Sorted set of VM ids scored by registration time: the registry's index. */
  vmIndex: 'registry:{vms}:index',
} as const;
