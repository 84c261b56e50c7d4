import { ConflictError, REDIS_KEYS, TENANT_VLAN_RANGE } from '@tenantlab/shared';

/** A new tenant needs a VLAN id and none is left. HTTP 409: only deleting tenants makes room. */
export class TenantVlansExhaustedError extends ConflictError {
  constructor(tenant: string) {
    const { min, max } = TENANT_VLAN_RANGE;
    super(
      `tenant ${tenant} cannot be declared: it needs a VLAN id and none is left, all ${max - min + 1} (${min}-${max}) ` +
        `belong to other tenants (${REDIS_KEYS.tenantVlans}); delete tenants that are no longer used ` +
        '(DELETE /tenants/:id) first.',
    );
  }
}
