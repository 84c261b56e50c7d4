import { requestJson } from '@tenantlab/shared';

/** One VM's counters at a sample, cumulative over the run (a restarted VM's counts are added to its earlier ones). */
export interface VmCounters {
  /** Frames written to tx: confirmed, plus writes without a reply (issue 10). */
  sent: number;
  received: number;
  duplicates: number;
  /** Ledger losses (GET /vnic lostInStore): frames a store that restarted empty took with it, and unknown outcomes. */
  lostInStore: number;
  ledgers: number;
}

export interface SwitchCounters {
  rxFrames: number;
  txFrames: number;
  drops: number;
  dropsByReason: Record<string, number>;
  /**
   * Frames the switch holds at the sample, read but not yet run because their tenant's programs are over their CPU
   * share (GET /dataplane waitingForCpu, over the tenants): a level, not a count over the run.
   */
  waitingForCpu: number;
}

export interface Sample {
  /** Since the run's start (negative before the timeline starts, during setup). */
  tMs: number;
  vms: Record<string, VmCounters>;
  /** Which VMs and whether the switch answered this time (otherwise their last counts are carried). */
  vmsUp: number;
  switchUp: boolean;
  switch: SwitchCounters;
  /** VMs with a live lease at the operator (GET /vms); absent when the operator did not answer. */
  vmsRegistered?: number;
}

interface VnicView {
  sent: { frames: number; unknownOutcome: number };
  received: { frames: number };
  /** Missing from a VM built before the store ledger (issue 10): then it counts nothing lost. */
  lostInStore?: {
    ledgers: number;
    tx: number;
    rx: number;
    unknownOutcome: { tx: number; atSwitch: number; rx: number };
  };
}

interface DataplaneView {
  batches: number;
  counters: { ports: Record<string, { rxFrames: number; txFrames: number; drops: Record<string, number> }> };
  waitingForCpu: Record<string, number>;
}

/**
 * Keeps a counter monotonic across restarts of whoever counts it: when a reading is below the last one, the source
 * started again from zero, so everything it had counted is kept as an offset. (What a process counted between the last
 * reading and its death is lost to this; the timeline samples right before it kills something.)
 */
class Monotonic {
  private readonly offsets = new Map<string, number>();
  private readonly last = new Map<string, number>();

  read(key: string, value: number, restarted: boolean): number {
    const last = this.last.get(key) ?? 0;
    if (restarted || value < last) this.offsets.set(key, (this.offsets.get(key) ?? 0) + last);
    this.last.set(key, value);
    return (this.offsets.get(key) ?? 0) + value;
  }
}

/**
 * How long a sample waits for the switch and the operator at a poll every `intervalMs`: under the interval, so a
 * restarting switch cannot stretch the series. In Docker mode the sample taken as the switch was killed and started
 * again waited 1.1 s and got its answer from the new switch (the connection was held through the restart, not
 * refused as in local mode), so the next sample came 1.6 s later and the rate over the two averaged the outage with
 * the catch-up after it: a CI run saw the dip as 80 % of the rate before it.
 */
export function probeTimeoutFor(intervalMs: number): number {
  return Math.min(2000, Math.max(200, Math.round(intervalMs * 0.8)));
}

/**
 * Polls the lab's counters into a time series: each VM's GET /vnic and GET /traffic/received, and the switch's
 * GET /dataplane (with the admin token). A component that does not answer keeps its last counts in that sample.
 */
export class CounterCollector {
  readonly samples: Sample[] = [];
  private readonly monotonic = new Monotonic();
  private lastVms: Record<string, VmCounters> = {};
  private lastSwitch: SwitchCounters = { rxFrames: 0, txFrames: 0, drops: 0, dropsByReason: {}, waitingForCpu: 0 };
  private lastBatches = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly vmUrls: Record<string, string>,
    private readonly switchUrl: string,
    /** The admin tools' service token: the switch and the operator's registry answer only trusted callers. */
    private readonly serviceHeaders: Record<string, string>,
    /** ms since the run's start. */
    private readonly clock: () => number,
    private readonly operatorUrl?: string,
    /**
     * How long the switch and the operator get to answer (see `probeTimeoutFor`); the VMs get 2 s, since their counts
     * are the series itself.
     */
    private readonly serviceTimeoutMs = 2000,
  ) {}

  start(intervalMs: number): void {
    const tick = (): void => {
      this.timer = setTimeout(() => void this.sampleNow().finally(tick), intervalMs);
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** Takes a sample now (one at a time: a call while one is under way waits for it and takes the next). */
  async sampleNow(): Promise<Sample> {
    while (this.sampling) await this.sampling;
    const taking = this.take();
    this.sampling = taking.then(() => undefined);
    try {
      return await taking;
    } finally {
      this.sampling = undefined;
    }
  }

  private async take(): Promise<Sample> {
    const tMs = this.clock();
    const [vms, dataplane, registered] = await Promise.all([
      Promise.all(Object.entries(this.vmUrls).map(async ([vm, url]) => [vm, await this.readVm(vm, url)] as const)),
      requestJson<DataplaneView>(
        'GET',
        `${this.switchUrl}/dataplane`,
        undefined,
        this.serviceTimeoutMs,
        this.serviceHeaders,
      ).then(
        (r) => (r.status === 200 ? r.body : undefined),
        () => undefined,
      ),
      this.operatorUrl === undefined
        ? undefined
        : requestJson<{ vms: { alive: boolean }[] }>(
            'GET',
            `${this.operatorUrl}/vms`,
            undefined,
            this.serviceTimeoutMs,
            this.serviceHeaders,
          ).then(
            (r) => (r.status === 200 ? r.body.vms.filter((vm) => vm.alive).length : undefined),
            () => undefined,
          ),
    ]);
    let vmsUp = 0;
    for (const [vm, counters] of vms) {
      if (counters) {
        vmsUp += 1;
        this.lastVms[vm] = counters;
      }
    }
    if (dataplane) this.lastSwitch = this.readSwitch(dataplane);
    const sample: Sample = {
      tMs,
      vms: structuredClone(this.lastVms),
      vmsUp,
      switchUp: dataplane !== undefined,
      switch: structuredClone(this.lastSwitch),
      ...(registered === undefined ? {} : { vmsRegistered: registered }),
    };
    this.samples.push(sample);
    return sample;
  }

  private async readVm(vm: string, url: string): Promise<VmCounters | undefined> {
    try {
      const [vnic, received] = await Promise.all([
        requestJson<VnicView>('GET', `${url}/vnic`, undefined, 2000),
        requestJson<{ bySource: Record<string, { duplicates?: number }> }>(
          'GET',
          `${url}/traffic/received`,
          undefined,
          2000,
        ),
      ]);
      if (vnic.status !== 200 || received.status !== 200) return undefined;
      const { sent } = vnic.body;
      const lost = vnic.body.lostInStore ?? { ledgers: 0, tx: 0, rx: 0, unknownOutcome: { tx: 0, atSwitch: 0, rx: 0 } };
      const duplicates = Object.values(received.body.bySource).reduce((sum, s) => sum + (s.duplicates ?? 0), 0);
      const m = (name: string, value: number): number => this.monotonic.read(`${vm}.${name}`, value, false);
      return {
        sent: m('sent', sent.frames + sent.unknownOutcome),
        received: m('received', vnic.body.received.frames),
        duplicates: m('duplicates', duplicates),
        lostInStore: m(
          'lost',
          lost.tx + lost.rx + lost.unknownOutcome.tx + lost.unknownOutcome.atSwitch + lost.unknownOutcome.rx,
        ),
        ledgers: m('ledgers', lost.ledgers),
      };
    } catch {
      return undefined;
    }
  }

  private readSwitch(view: DataplaneView): SwitchCounters {
    // A restarted switch counts its batches from 0 again: the counters before are its previous life's.
    const restarted = view.batches < this.lastBatches;
    this.lastBatches = view.batches;
    const totals = { rxFrames: 0, txFrames: 0, drops: 0 };
    const byReason: Record<string, number> = {};
    for (const port of Object.values(view.counters.ports)) {
      totals.rxFrames += port.rxFrames;
      totals.txFrames += port.txFrames;
      for (const [reason, n] of Object.entries(port.drops)) {
        totals.drops += n;
        byReason[reason] = (byReason[reason] ?? 0) + n;
      }
    }
    const m = (name: string, value: number): number => this.monotonic.read(`switch.${name}`, value, restarted);
    const dropsByReason = Object.fromEntries(
      Object.entries({ ...this.lastSwitch.dropsByReason, ...byReason }).map(([r]) => [
        r,
        m(`drops.${r}`, byReason[r] ?? 0),
      ]),
    );
    return {
      rxFrames: m('rx', totals.rxFrames),
      txFrames: m('tx', totals.txFrames),
      drops: m('drops', totals.drops),
      dropsByReason,
      waitingForCpu: Object.values(view.waitingForCpu).reduce((sum, n) => sum + n, 0),
    };
  }
}
