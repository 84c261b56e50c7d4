import type { FrameRejectReason } from '@tenantlab/shared';
import type { DropReason, SwitchPort } from './switch-port';

export interface TrafficCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  drops: Partial<Record<DropReason, number>>;
  /** Why malformed frames were rejected, by parser reason. */
  malformed: Partial<Record<FrameRejectReason, number>>;
}

function emptyCounters(): TrafficCounters {
  return { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, drops: {}, malformed: {} };
}

/**
 * Per-port and per-tenant counters: rx is what a port's VM sent into the switch, tx what the switch delivered to
 * it. Every frame read is either delivered (tx, per destination) or dropped under one reason.
 */
export class SwitchCounters {
  private readonly ports = new Map<string, TrafficCounters>();
  private readonly tenants = new Map<string, TrafficCounters>();
  /** Both counter sets of each port, by port number: one array index per frame on the hot path, not two map lookups. */
  // Stryker disable next-line ArrayDeclaration: port numbers start at 1 (PortDirectory), so nothing reads index 0
  private readonly byPortNo: ([TrafficCounters, TrafficCounters] | undefined)[] = [];
  /** The port each entry of `byPortNo` counts, for `merge`. */
  private readonly portsByNo: SwitchPort[] = [];

  received(port: SwitchPort, bytes: number): void {
    for (const counters of this.both(port)) {
      counters.rxFrames += 1;
      counters.rxBytes += bytes;
    }
  }

  delivered(port: SwitchPort, bytes: number): void {
    for (const counters of this.both(port)) {
      counters.txFrames += 1;
      counters.txBytes += bytes;
    }
  }

  dropped(port: SwitchPort, reason: DropReason, malformed?: FrameRejectReason): void {
    for (const counters of this.both(port)) {
      counters.drops[reason] = (counters.drops[reason] ?? 0) + 1;
      if (malformed) counters.malformed[malformed] = (counters.malformed[malformed] ?? 0) + 1;
    }
  }

  /** Counts `frames` entries of `bytes` in all that the switch dropped without reading them (never parsed). */
  droppedUnread(port: SwitchPort, reason: DropReason, frames: number, bytes: number): void {
    for (const counters of this.both(port)) {
      counters.rxFrames += frames;
      counters.rxBytes += bytes;
      counters.drops[reason] = (counters.drops[reason] ?? 0) + frames;
    }
  }

  /**
   * Adds what `from` counted to these counters: all its ports, or only `only`. The data path counts each batch's
   * decisions apart and merges them once its commit has answered (or once it knows whether the commit applied).
   */
  merge(from: SwitchCounters, only?: SwitchPort): void {
    if (only) {
      const counted = from.byPortNo[only.no];
      if (counted) this.add(only, counted[0]);
      return;
    }
    from.byPortNo.forEach((counted, no) => {
      if (counted) this.add(from.portsByNo[no], counted[0]);
    });
  }

  /** True when nothing was counted (a batch that decided no frame). */
  empty(): boolean {
    return this.portsByNo.length === 0;
  }

  snapshot(): { ports: Record<string, TrafficCounters>; tenants: Record<string, TrafficCounters> } {
    const copy = (map: Map<string, TrafficCounters>): Record<string, TrafficCounters> =>
      Object.fromEntries(
        [...map].map(([key, c]) => [key, { ...c, drops: { ...c.drops }, malformed: { ...c.malformed } }]),
      );
    return { ports: copy(this.ports), tenants: copy(this.tenants) };
  }

  private both(port: SwitchPort): [TrafficCounters, TrafficCounters] {
    return (this.byPortNo[port.no] ??= this.create(port));
  }

  /** Adds one port's counts to the port's and its tenant's. */
  private add(port: SwitchPort, counted: TrafficCounters): void {
    for (const counters of this.both(port)) {
      counters.rxFrames += counted.rxFrames;
      counters.rxBytes += counted.rxBytes;
      counters.txFrames += counted.txFrames;
      counters.txBytes += counted.txBytes;
      for (const [reason, frames] of Object.entries(counted.drops) as [DropReason, number][]) {
        counters.drops[reason] = (counters.drops[reason] ?? 0) + frames;
      }
      for (const [reason, frames] of Object.entries(counted.malformed) as [FrameRejectReason, number][]) {
        counters.malformed[reason] = (counters.malformed[reason] ?? 0) + frames;
      }
    }
  }

  private create(port: SwitchPort): [TrafficCounters, TrafficCounters] {
    this.portsByNo[port.no] = port;
    let byPort = this.ports.get(port.vm);
    if (!byPort) this.ports.set(port.vm, (byPort = emptyCounters()));
    let byTenant = this.tenants.get(port.tenant);
    if (!byTenant) this.tenants.set(port.tenant, (byTenant = emptyCounters()));
    return [byPort, byTenant];
  }
}
