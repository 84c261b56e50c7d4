import {
  attackerTenantRedisBytesMax,
  DEFAULT_ATTACKER_TENANT_LIMITS,
  REDIS_CLIENTS_MEMORY_BYTES,
  REDIS_DEFAULT_MAXMEMORY,
  TENANT_PORT_BUDGETS,
} from '@tenantlab/shared';
import type { LabDefinition, TenantCapsOverrides } from './lab-definition';

/** The operator's per-VM ring defaults (operator.config.ts), under which a tenant's own ring quotas may be less. */
const VM_RING_ENTRIES = 65_536;
const VM_RING_BYTES = 134_217_728;
const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };

/** Redis's memory notation ('3gb', '512mb', '1048576') in bytes, as redis.conf reads it (kb, mb, gb: powers of 1024). */
export function redisMemoryBytes(value: string, name = 'maxmemory'): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new Error(`${name} "${value}": expected bytes or a number with kb, mb or gb (as redis.conf reads it)`);
  }
  return Number(match[1]) * unit;
}

/**
 * What one tenant of the lab can hold in Redis at its caps (attackerTenantRedisBytesMax): the operator's defaults
 * where the lab file sets none, and the switch's tenant budgets as the lab's switch settings give them.
 */
export function tenantRedisHoldMax(caps: TenantCapsOverrides = {}, switchEnv: Record<string, string> = {}): number {
  const defaults = DEFAULT_ATTACKER_TENANT_LIMITS;
  const vms = caps.maxVms ?? defaults.vms;
  // A setting that is not a number is the switch's to refuse at its start, naming it; here it counts as the default.
  const budget = (name: string, fallback: number): number => {
    const value = Number(switchEnv[name]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return attackerTenantRedisBytesMax({
    vms,
    circuits: caps.maxCircuits ?? defaults.circuits,
    // A tenant's rings are bounded by its own quota and by its VMs' together, whichever is less.
    ringEntries: Math.min(caps.ringEntries ?? defaults.ringEntries, vms * (caps.vmRingEntries ?? VM_RING_ENTRIES)),
    ringPayloadBytes:
      Math.min(caps.ringBytes ?? 2 * defaults.ringPayloadBytes, vms * (caps.vmRingBytes ?? VM_RING_BYTES)) / 2,
    ports: {
      txMemoryBytes: budget('TENANT_TX_MEMORY_BYTES', TENANT_PORT_BUDGETS.txMemoryBytes),
      rxFrames: budget('TENANT_RX_FRAMES', TENANT_PORT_BUDGETS.rxFrames),
      rxBytes: budget('TENANT_RX_BYTES', TENANT_PORT_BUDGETS.rxBytes),
    },
  });
}

const gigabytes = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;

/**
 * The line `lab up` prints about the lab's Redis: whether all its tenants, each holding what its caps allow, fit under
 * `maxmemory` with every client's buffers. When they do, no tenant can fill Redis so that another's writes are
 * refused; when they do not (many tenants, or high caps), one can, and the line says so and what to change.
 */
export function redisShareProgress(
  definition: LabDefinition,
  maxmemory: string = REDIS_DEFAULT_MAXMEMORY,
  /** Where `maxmemory` came from, named if it cannot be read (REDIS_MAXMEMORY in Docker mode). */
  source = 'maxmemory',
): string {
  const limit = redisMemoryBytes(maxmemory, source);
  const tenants = definition.tenants.length;
  const held = definition.tenants.reduce((sum, t) => sum + tenantRedisHoldMax(t.caps, definition.switchEnv), 0);
  const withClients = held + REDIS_CLIENTS_MEMORY_BYTES;
  const of = `maxmemory ${maxmemory} (${gigabytes(limit)})`;
  if (withClients <= limit) {
    return (
      `Redis: the ${tenants} tenant(s) can hold at most ${gigabytes(held)} together at their caps, ` +
      `${gigabytes(withClients)} with every client's buffers, under ${of}: no tenant can fill it for another`
    );
  }
  return (
    `Redis: the ${tenants} tenant(s) could hold up to ${gigabytes(held)} together at their caps (` +
    `${gigabytes(withClients)} with every client's buffers), over ${of}: one tenant filling what its caps allow ` +
    `can get other tenants' writes refused (OOM). To rule that out, lower the tenants' caps (maxVms, ringBytes, ` +
    `ringEntries) or raise REDIS_MAXMEMORY (docs/redis-rights.md)`
  );
}
