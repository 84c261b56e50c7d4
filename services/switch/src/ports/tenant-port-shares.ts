import { PORT_BOUNDS, type PortBounds, type StreamCapacity, TENANT_PORT_BUDGETS } from '@tenantlab/shared';
import type { SwitchPort } from '../pipeline/switch-port';

/**
 * Each port's share of its tenant's budget of Redis memory (issue 10: a tenant's VM count must not multiply what it
 * can hold in the shared Redis). Each port's streams were bounded on their own (PORT_BOUNDS), so a tenant at the
 * operator's cap of 64 VMs could hold 64 of them, gigabytes, and a hostile tenant could fill Redis until every other
 * tenant's writes were refused. Now a port gets PORT_BOUNDS or an equal share of its tenant's budget, whichever is
 * smaller: a tenant with few VMs sees no change, one with many shares its budget among them, and what one tenant's
 * ports hold together never passes its budget (its VMs cannot move another tenant's). Recounted when ports come or go;
 * a share that shrank applies from the next read (tx is trimmed to it, rx takes no more until it drains below it).
 */
export class TenantPortShares {
  private readonly byTenant = new Map<string, PortBounds>();
  /** Each tenant's rx share as the rx writer asks for it, made once per recount: it is asked per frame delivered. */
  private readonly rxByTenant = new Map<string, StreamCapacity>();

  constructor(
    private readonly budgets: Readonly<PortBounds> = TENANT_PORT_BUDGETS,
    private readonly full: Readonly<PortBounds> = PORT_BOUNDS,
  ) {}

  /** The attached ports, after a scan: each tenant's share is recomputed from its count. */
  recount(ports: readonly SwitchPort[]): void {
    const counts = new Map<string, number>();
    for (const { tenant } of ports) counts.set(tenant, (counts.get(tenant) ?? 0) + 1);
    this.byTenant.clear();
    this.rxByTenant.clear();
    for (const [tenant, count] of counts) {
      const bounds = {
        txMemoryBytes: Math.min(this.full.txMemoryBytes, Math.floor(this.budgets.txMemoryBytes / count)),
        rxFrames: Math.min(this.full.rxFrames, Math.floor(this.budgets.rxFrames / count)),
        rxBytes: Math.min(this.full.rxBytes, Math.floor(this.budgets.rxBytes / count)),
      };
      this.byTenant.set(tenant, bounds);
      this.rxByTenant.set(tenant, { frames: bounds.rxFrames, bytes: bounds.rxBytes });
    }
  }

  /** `port`'s rx capacity (its share's rxFrames and rxBytes), as the rx writer checks it. */
  rxCapacityOf(port: SwitchPort): StreamCapacity {
    const capacity = this.rxByTenant.get(port.tenant);
    if (capacity) return capacity;
    const { rxFrames, rxBytes } = this.of(port);
    return { frames: rxFrames, bytes: rxBytes };
  }

  /** `port`'s bounds; a port of a tenant not yet counted (attached since the last recount) gets one port's share. */
  of(port: SwitchPort): PortBounds {
    let bounds = this.byTenant.get(port.tenant);
    if (!bounds) {
      bounds = {
        txMemoryBytes: Math.min(this.full.txMemoryBytes, this.budgets.txMemoryBytes),
        rxFrames: Math.min(this.full.rxFrames, this.budgets.rxFrames),
        rxBytes: Math.min(this.full.rxBytes, this.budgets.rxBytes),
      };
    }
    return bounds;
  }
}
