/**
 * The tenant of each declared tenant's enrollment secret (by its sha256), so a VM's registration takes its tenant's
 * turn (TenantTurnsGuard) rather than the turn of the address it comes from: locally every VM calls from 127.0.0.1,
 * and one VM flooding made-up tokens there would otherwise make every other tenant's registrations wait or be
 * refused. Only for ordering calls, never for letting one in: the registration still checks the secret against the
 * tenant's record in Redis. One entry per declared tenant (at most one per VLAN id), so no bound is needed.
 */
export class SecretTenants {
  private readonly tenantsBySecret = new Map<string, string>();
  private readonly secretOfTenant = new Map<string, string>();

  /** The tenant's secret is now the one hashed `secretSha256` (declared, created, restored, or seen in Redis). */
  set(tenant: string, secretSha256: string): void {
    this.remove(tenant);
    this.tenantsBySecret.set(secretSha256, tenant);
    this.secretOfTenant.set(tenant, secretSha256);
  }

  /** The tenant was deleted: its secret names nobody any more. */
  remove(tenant: string): void {
    const old = this.secretOfTenant.get(tenant);
    if (old === undefined) return;
    this.secretOfTenant.delete(tenant);
    if (this.tenantsBySecret.get(old) === tenant) this.tenantsBySecret.delete(old);
  }

  tenantOf(secretSha256: string): string | undefined {
    return this.tenantsBySecret.get(secretSha256);
  }
}
