/** How many VM tokens TokenTenants remembers; the oldest are forgotten first (a forgotten token costs one lookup). */
export const REMEMBERED_TOKENS = 65_536;

/**
 * The tenant of each VM token the operator has seen work (by its sha256), so a call can be given its tenant's turn
 * before it is authenticated: authenticating costs Redis round trips, the very work a flood must wait for. Only for
 * ordering calls, never for letting one in: a token remembered here is still checked against the registry, and one
 * rotated or deregistered since only makes its caller wait in its old tenant's turn before it is refused.
 */
export class TokenTenants {
  private readonly tenants = new Map<string, string>();

  constructor(private readonly capacity = REMEMBERED_TOKENS) {}

  remember(tokenHash: string, tenant: string): void {
    this.tenants.delete(tokenHash);
    this.tenants.set(tokenHash, tenant);
    if (this.tenants.size > this.capacity) {
      const oldest = this.tenants.keys().next();
      if (!oldest.done) this.tenants.delete(oldest.value);
    }
  }

  forget(tokenHash: string): void {
    this.tenants.delete(tokenHash);
  }

  tenantOf(tokenHash: string): string | undefined {
    return this.tenants.get(tokenHash);
  }
}
