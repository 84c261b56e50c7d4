/**
 * State kept per tenant, for at most `maxTenants` tenants: telemetry reads topics anyone may write to, so a flood of
 * made-up tenant ids must not grow it without bound. What arrives for tenants beyond the bound is only counted.
 */
export class PerTenant<T> {
  private readonly tenants = new Map<string, T>();
  private untracked = 0;

  constructor(
    private readonly maxTenants: number,
    private readonly create: () => T,
  ) {}

  /** The tenant's state, created on first use; undefined (and counted) when the bound is reached. */
  track(tenant: string): T | undefined {
    let state = this.tenants.get(tenant);
    if (state === undefined) {
      if (this.tenants.size >= this.maxTenants) {
        this.untracked += 1;
        return undefined;
      }
      this.tenants.set(tenant, (state = this.create()));
    }
    return state;
  }

  get(tenant: string): T | undefined {
    return this.tenants.get(tenant);
  }

  entries(): [string, T][] {
    return [...this.tenants];
  }

  /** Messages that arrived for tenants beyond the bound. */
  get untrackedMessages(): number {
    return this.untracked;
  }
}
