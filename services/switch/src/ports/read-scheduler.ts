import type { SwitchPort } from '../pipeline/switch-port';
import type { PortRead } from './port-io';

/** What a tenant's reads of one round came to: frames read, their cost, and whether frames are still waiting. */
export interface TenantUsage {
  frames: number;
  /**
   * tx entries read, when they carry several frames each (issue 11): a port's read is counted in entries, so the
   * scheduler converts a deficit into entries at the recent cost per entry. Left out, one entry per frame.
   */
  entries?: number;
  /** Work the frames made: 1 per frame read, plus 1 per copy written to a destination (a flood costs its fan-out). */
  cost: number;
  backlogged: boolean;
}

interface TenantState {
  /** Work the tenant may still do; negative after a round that cost more than it had (paid back before it reads). */
  deficit: number;
  /** Mean cost of one of its frames lately, to turn a deficit into a number of frames to read. */
  costPerFrame: number;
  backlogged: boolean;
  /** Which of its ports gets the first of the frames that do not divide evenly. */
  cursor: number;
}

/** How much of the last cost-per-frame sample the estimate takes in. */
const COST_SMOOTHING = 0.25;

/**
 * Decides how many frames the switch reads from each port in a round: deficit round robin (Shreedhar and Varghese)
 * over tenants, then over each tenant's ports, so a tenant's share of the switch is the same whatever its number of
 * VMs and whatever they send. Each round every tenant earns `quantum` units of work; a tenant reads as many frames
 * as its deficit pays for at its recent cost per frame, split evenly over its ports that had frames waiting at their
 * last read (the remainder rotating; a port that had none gets one frame, see `plan`). A frame
 * is only costed once it has been decided (a broadcast costs its fan-out), so the round's real cost is charged
 * afterwards: a tenant that overspent reads nothing until its debt is repaid. A tenant with nothing waiting keeps no
 * credit (as in DRR, an idle queue's deficit is reset), only its debt, and a busy one at most a quantum; it is still read each round it has credit, so
 * its first frame goes in the next round. Every port is in every round's plan, with 0 frames when its tenant has no
 * credit: the read also enforces the port's tx bound.
 */
export class ReadScheduler {
  private readonly tenants = new Map<string, TenantState>();
  /** Ports whose tx stream was empty at their last read. */
  private readonly empty = new Set<SwitchPort>();

  constructor(
    /** Work each tenant earns per round. */
    private readonly quantum: number,
    /** The most frames read from one port in a round. */
    private readonly maxPerPort: number,
  ) {
    if (!(quantum >= 1)) throw new RangeError('quantum must be at least 1');
    if (!(maxPerPort >= 1)) throw new RangeError('maxPerPort must be at least 1');
  }

  plan(ports: readonly SwitchPort[]): PortRead[] {
    const byTenant = new Map<string, SwitchPort[]>();
    for (const port of ports) {
      const list = byTenant.get(port.tenant);
      if (list) list.push(port);
      else byTenant.set(port.tenant, [port]);
    }
    for (const tenant of this.tenants.keys()) if (!byTenant.has(tenant)) this.tenants.delete(tenant);
    const states = [...byTenant.keys()].map((tenant) => this.stateOf(tenant));
    for (const state of states) {
      if (!state.backlogged) state.deficit = Math.min(state.deficit, 0);
      // Credit a tenant did not use (it had fewer frames than it could read) is not carried over: at most a quantum.
      state.deficit = Math.min(state.deficit + this.quantum, this.quantum);
    }
    // When every tenant is in debt, the rounds in which no one could read are skipped rather than spent idle.
    const richest = Math.max(...states.map((s) => s.deficit));
    if (richest <= 0) {
      const rounds = Math.floor(-richest / this.quantum) + 1;
      for (const state of states) state.deficit += rounds * this.quantum;
    }
    const present = new Set(ports);
    for (const port of this.empty) if (!present.has(port)) this.empty.delete(port);
    const plan: PortRead[] = [];
    for (const [tenant, own] of byTenant) {
      const state = this.stateOf(tenant);
      const frames = state.deficit > 0 ? Math.max(1, Math.floor(state.deficit / state.costPerFrame)) : 0;
      // A port whose stream was empty at its last read (a VM that only receives) gets one frame, enough to find out
      // it has some; the tenant's other frames go to its ports that had frames waiting. Split over all its ports
      // instead, a receiving VM would hold half of a two-VM tenant's share unused, and once rounds grow long (a
      // storm, a busy machine) its sender would fall behind for good.
      const idle = own.filter((port) => this.empty.has(port)).length;
      const someBusy = idle < own.length;
      const sharing = someBusy && frames - idle >= own.length - idle;
      // Too little credit for one frame each (a tenant whose entries pack many frames, issue 11): its ports with
      // frames waiting get it, the idle ones none this round (their length still comes back with the read, so one
      // that gets frames is read from the next round on). Handed to an idle port, the only frame of a round is an
      // empty read, and the round after it waits for the doorbell.
      const busy = someBusy ? own.filter((port) => !this.empty.has(port)) : own;
      const shared = sharing ? frames - idle : frames;
      const each = Math.floor(shared / busy.length);
      const extra = shared % busy.length;
      const cursor = state.cursor % busy.length;
      for (const port of own) {
        const i = busy.indexOf(port);
        if (i < 0) {
          plan.push({ port, count: sharing ? 1 : 0 });
          continue;
        }
        const turn = (i - cursor + busy.length) % busy.length;
        plan.push({ port, count: Math.min(this.maxPerPort, each + (turn < extra ? 1 : 0)) });
      }
      state.cursor = (cursor + extra) % busy.length;
    }
    return plan;
  }

  /** What a port's read found: `length` entries in its tx stream, those just read included (0: it had none). */
  observe(port: SwitchPort, length: number): void {
    if (length > 0) this.empty.delete(port);
    else this.empty.add(port);
  }

  /** Charges each tenant what its frames of the round cost; tenants not listed read nothing and wait for nothing. */
  charge(usage: ReadonlyMap<string, TenantUsage>): void {
    for (const [tenant, state] of this.tenants) {
      const used = usage.get(tenant);
      state.backlogged = used?.backlogged ?? false;
      const reads = used?.entries ?? used?.frames ?? 0;
      if (!used || reads === 0) continue;
      state.deficit -= used.cost;
      const sample = used.cost / reads;
      state.costPerFrame += COST_SMOOTHING * (sample - state.costPerFrame);
    }
  }

  /** Each tenant's deficit, for GET /dataplane. */
  snapshot(): Record<string, { deficit: number; costPerFrame: number; backlogged: boolean }> {
    return Object.fromEntries(
      [...this.tenants].map(([tenant, s]) => [
        tenant,
        {
          deficit: Math.round(s.deficit),
          costPerFrame: Math.round(s.costPerFrame * 100) / 100,
          backlogged: s.backlogged,
        },
      ]),
    );
  }

  private stateOf(tenant: string): TenantState {
    let state = this.tenants.get(tenant);
    if (!state) this.tenants.set(tenant, (state = { deficit: 0, costPerFrame: 1, backlogged: false, cursor: 0 }));
    return state;
  }
}
