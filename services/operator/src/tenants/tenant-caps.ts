/**
 * Per-tenant caps. Each has an operator-wide default (config) that a tenant may override, in the lab file
 * (`tenants[].caps`) or in the admin API (POST /tenants `caps`). Made-up tenants are gone (tenants must be declared),
 * and these keep one declared tenant from taking what the others need.
 */
export interface TenantCaps {
  /** VMs of the tenant whose lease is alive at once. */
  maxVms: number;
  /** Circuit endpoints in the tenant (a circuit inside the tenant counts twice, like MAX_CIRCUITS_PER_VM). */
  maxCircuits: number;
  /** Programs in the switch pipeline: a tenant has at most one, so 0 (no program allowed) or 1. */
  maxPrograms: number;
  /** Ring memory of the tenant's circuits: 2 x capacity.bytes per circuit endpoint in the tenant. */
  ringBytes: number;
  /** The same, per VM of the tenant, so one VM cannot take its whole tenant's ring memory. */
  vmRingBytes: number;
  /**
   * Ring entries of the tenant's circuits: capacity.entries of the ring each circuit endpoint in the tenant writes, so
   * the tenant's VM count does not multiply what its rings can hold in Redis.
   */
  ringEntries: number;
  /** Ring entries per VM of the tenant: capacity.entries of the ring each of its circuit endpoints writes. */
  vmRingEntries: number;
}

/** Each cap's bounds, checked wherever caps come in (lab file via LAB_TENANTS, admin API). */
export const TENANT_CAP_BOUNDS: Record<keyof TenantCaps, { min: number; max: number }> = {
  maxVms: { min: 0, max: 100_000 },
  maxCircuits: { min: 0, max: 10_000_000 },
  maxPrograms: { min: 0, max: 1 },
  ringBytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
  vmRingBytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
  ringEntries: { min: 0, max: Number.MAX_SAFE_INTEGER },
  vmRingEntries: { min: 0, max: Number.MAX_SAFE_INTEGER },
};

/** The config variable holding each cap's operator-wide default, named in refusals so an operator knows what to set. */
export const TENANT_CAP_DEFAULT_ENV: Record<keyof TenantCaps, string> = {
  maxVms: 'TENANT_MAX_VMS',
  maxCircuits: 'TENANT_MAX_CIRCUITS',
  maxPrograms: 'TENANT_MAX_PROGRAMS',
  ringBytes: 'TENANT_RING_BYTES',
  vmRingBytes: 'VM_RING_BYTES',
  ringEntries: 'TENANT_RING_ENTRIES',
  vmRingEntries: 'VM_RING_ENTRIES',
};

/**
 * Checks a caps object (overrides: every field optional). Returns the problems, each naming its path, or the caps.
 * Unknown fields are refused so a misspelt cap is not silently ignored.
 */
export function parseTenantCaps(value: unknown, path: string): { caps?: Partial<TenantCaps>; problems: string[] } {
  if (value === undefined) return { caps: {}, problems: [] };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problems: [`${path}: expected an object of caps (${Object.keys(TENANT_CAP_BOUNDS).join(', ')})`] };
  }
  const problems: string[] = [];
  const caps: Partial<TenantCaps> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const bounds = TENANT_CAP_BOUNDS[key as keyof TenantCaps] as { min: number; max: number } | undefined;
    if (!bounds) {
      problems.push(`${path}.${key}: unknown cap; expected one of ${Object.keys(TENANT_CAP_BOUNDS).join(', ')}`);
    } else if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < bounds.min || raw > bounds.max) {
      problems.push(`${path}.${key}: expected an integer from ${bounds.min} to ${bounds.max}`);
    } else {
      caps[key as keyof TenantCaps] = raw;
    }
  }
  return problems.length > 0 ? { problems } : { caps, problems };
}
