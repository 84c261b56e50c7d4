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
/** One tenant's share per port: its bounds, and its rx capacity as the rx writer asks for it (per frame delivered). */
interface Share {
  bounds: PortBounds;
  rx: StreamCapacity;
}

export class TenantPortShares {
  private readonly byTenant = new Map<string, Share>();
  /** What a port of a tenant with no other port gets; also a port of a tenant not counted yet. */
  private readonly alone: Share;

  constructor(
    private readonly budgets: Readonly<PortBounds> = TENANT_PORT_BUDGETS,
    private readonly full: Readonly<PortBounds> = PORT_BOUNDS,
  ) {
    this.alone = this.shareOf(1);
  }

  /** The attached ports, after a scan: each tenant's share is recomputed from its count. */
  recount(ports: readonly SwitchPort[]): void {
    const counts = new Map<string, number>();
    for (const { tenant } of ports) counts.set(tenant, (counts.get(tenant) ?? 0) + 1);
    this.byTenant.clear();
    for (const [tenant, count] of counts) this.byTenant.set(tenant, this.shareOf(count));
  }

  /** `port`'s bounds; a port of a tenant not yet counted (attached since the last recount) gets one port's share. */
  of(port: SwitchPort): PortBounds {
    return (this.byTenant.get(port.tenant) ?? this.alone).bounds;
  }

  /** `port`'s rx capacity (its share's rxFrames and rxBytes), one object per tenant, as the rx writer checks it. */
  rxCapacityOf(port: SwitchPort): StreamCapacity {
    return (this.byTenant.get(port.tenant) ?? this.alone).rx;
  }

  /** Each of `count` ports' share: its own bounds or an equal part of the budget, whichever is smaller. */
  private shareOf(count: number): Share {
    const part = (key: keyof PortBounds): number => Math.min(this.full[key], Math.floor(this.budgets[key] / count));
    const bounds = { txMemoryBytes: part('txMemoryBytes'), rxFrames: part('rxFrames'), rxBytes: part('rxBytes') };
    return { bounds, rx: { frames: bounds.rxFrames, bytes: bounds.rxBytes } };
  }
}
