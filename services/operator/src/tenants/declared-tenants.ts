import { ID_PATTERN } from '@tenantlab/shared';
import { parseTenantCaps } from './tenant-caps';
import type { DeclaredTenant } from './tenant-record';

/** LAB_TENANTS' value: undefined when anything in it is wrong (the config error names the variable, not the value). */
export function parseDeclaredTenants(value: unknown): DeclaredTenant[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const seen = new Set<string>();
  const tenants: DeclaredTenant[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { id, secretSha256, caps } = item as Record<string, unknown>;
    if (typeof id !== 'string' || !ID_PATTERN.test(id) || seen.has(id)) return undefined;
    if (typeof secretSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(secretSha256)) return undefined;
    const parsed = parseTenantCaps(caps, 'caps');
    if (!parsed.caps) return undefined;
    seen.add(id);
    tenants.push({ id, secretSha256, caps: parsed.caps });
  }
  return tenants;
}
