import { ConflictError, REDIS_KEYS, TENANT_VLAN_RANGE } from '@tenantlab/shared';

/** A new tenant needs a VLAN id and none is left. HTTP 409: only removing tenants that are gone makes room. */
export class TenantVlansExhaustedError extends ConflictError {
  constructor(tenant: string) {
    const { min, max } = TENANT_VLAN_RANGE;
    super(
      `tenant ${tenant} has no VLAN id and none is left: all ${max - min + 1} (${min}-${max}) belong to other tenants, ` +
        'which keep theirs for good. Register this VM under an existing tenant, or have an administrator remove ' +
        `tenants that no longer exist from ${REDIS_KEYS.tenantVlans}.`,
    );
  }
}
