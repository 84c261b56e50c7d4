import type { SwitchPort } from '../pipeline/switch-port';

interface Quarantined {
  reason: string;
  since: number;
  retryAt: number;
}

/** The first wait before a quarantined port is tried again; each fault of the same port doubles it, up to the max. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * Ports the switch stopped serving because their keys misbehave: a tx or rx key of another type, a command that
 * failed on them. A quarantined port is neither read nor written to (frames for it are dropped and counted), so the
 * others go on as if it were not there; after a backoff its tx is read again, and a clean read releases it. A VM can
 * do all of this to its own keys, so nothing here is an error of the switch: it is counted, per port, and shown.
 */
export class PortQuarantine {
  private readonly held = new Map<number, Quarantined>();
  /** Faults per VM over the switch's life, released or not. */
  private readonly faults = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Quarantines `port` (again) for `reason`. */
  add(port: SwitchPort, reason: string): void {
    const faults = (this.faults.get(port.vm) ?? 0) + 1;
    this.faults.set(port.vm, faults);
    const now = this.now();
    const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(faults - 1, 16));
    this.held.set(port.no, { reason, since: this.held.get(port.no)?.since ?? now, retryAt: now + wait });
  }

  /** True while the port is quarantined, including when its retry is due (its frames still go nowhere). */
  has(port: SwitchPort): boolean {
    return this.held.has(port.no);
  }

  /** True when the port is to be read this round: not quarantined, or due for its retry. */
  readable(port: SwitchPort): boolean {
    const held = this.held.get(port.no);
    return held === undefined || held.retryAt <= this.now();
  }

  release(port: SwitchPort): void {
    this.held.delete(port.no);
  }

  forget(port: SwitchPort): void {
    this.held.delete(port.no);
  }

  /** For GET /dataplane: faults per VM, and which ports are held, why and since when. */
  snapshot(ports: readonly SwitchPort[]): {
    faults: Record<string, number>;
    quarantined: Record<string, { reason: string; sinceMs: number; retryInMs: number }>;
  } {
    const now = this.now();
    const quarantined: Record<string, { reason: string; sinceMs: number; retryInMs: number }> = {};
    for (const port of ports) {
      const held = this.held.get(port.no);
      if (held) {
        quarantined[port.vm] = {
          reason: held.reason,
          sinceMs: now - held.since,
          retryInMs: Math.max(0, held.retryAt - now),
        };
      }
    }
    return { faults: Object.fromEntries(this.faults), quarantined };
  }
}
