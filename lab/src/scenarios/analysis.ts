import type { Sample } from './collector';
import type { PlannedEvent } from './scenario-plan';

/** One row of the run's time series: totals over the lab's VMs and the switch, and the rates between samples. */
export interface SeriesRow {
  tMs: number;
  sent: number;
  received: number;
  drops: number;
  lostInStore: number;
  duplicates: number;
  sentPerSecond: number;
  receivedPerSecond: number;
  switchUp: number;
  vmsUp: number;
  /** VMs alive at the operator; null when it did not answer. */
  vmsRegistered: number | null;
}

export const SERIES_COLUMNS: (keyof SeriesRow)[] = [
  'tMs',
  'sent',
  'received',
  'drops',
  'lostInStore',
  'duplicates',
  'sentPerSecond',
  'receivedPerSecond',
  'switchUp',
  'vmsUp',
  'vmsRegistered',
];

/** Rates are taken over at least this long. */
export const RATE_WINDOW_MS = 1000;

export function toSeries(samples: readonly Sample[]): SeriesRow[] {
  const rows: SeriesRow[] = [];
  for (const sample of samples) {
    const vms = Object.values(sample.vms);
    const sum = (pick: (v: (typeof vms)[number]) => number): number => vms.reduce((s, v) => s + pick(v), 0);
    const previous = rows.at(-1);
    const row: SeriesRow = {
      tMs: Math.round(sample.tMs),
      sent: sum((v) => v.sent),
      received: sum((v) => v.received),
      drops: sample.switch.drops,
      lostInStore: sum((v) => v.lostInStore),
      duplicates: sum((v) => v.duplicates),
      sentPerSecond: 0,
      receivedPerSecond: 0,
      switchUp: sample.switchUp ? 1 : 0,
      vmsUp: sample.vmsUp,
      vmsRegistered: sample.vmsRegistered ?? null,
    };
    // Over the last RATE_WINDOW_MS at least: the VMs send in runs and samples come unevenly on a busy machine.
    const from = rows.findLast((r) => row.tMs - r.tMs >= RATE_WINDOW_MS) ?? previous;
    const dt = from ? (row.tMs - from.tMs) / 1000 : 0;
    if (from && dt > 0) {
      row.sentPerSecond = Math.round((row.sent - from.sent) / dt);
      row.receivedPerSecond = Math.round((row.received - from.received) / dt);
    }
    rows.push(row);
  }
  return rows;
}

/** Every frame a VM sent is received, dropped by the switch (counted), or counted by the store ledger. */
export interface Accounting {
  sent: number;
  received: number;
  switchDrops: number;
  dropsByReason: Record<string, number>;
  lostInStore: number;
  duplicates: number;
  /**
   * Frames the switch still held at the last sample, waiting for their tenant's CPU share (seed 000): accepted, and
   * neither delivered nor dropped yet when the run ended.
   */
  waitingForCpu: number;
  /**
   * Frames accepted and lost without a count: sent − (received + drops + lostInStore + waitingForCpu), when that is
   * above 0.
   */
  uncounted: number;
  /**
   * Frames counted more than once: (received + drops + lostInStore) − sent, when that is above 0. The store ledger's
   * counts live in the switch's memory, so a switch that restarted before a store loss does not know what its
   * previous process took from the lost store, and the VMs count those frames as lost although they were received.
   */
  countedTwice: number;
  /**
   * Per VM, the store ledger entries it read: one for each store generation of its port that ended (Redis restarted
   * empty). A store may end with no frame in it, so a restart shows here even where `lostInStore` stays 0.
   */
  storeLedgersByVm: Record<string, number>;
}

export function accountFor(last: Sample | undefined): Accounting {
  const vms = Object.values(last?.vms ?? {});
  const sent = vms.reduce((s, v) => s + v.sent, 0);
  const received = vms.reduce((s, v) => s + v.received, 0);
  const lostInStore = vms.reduce((s, v) => s + v.lostInStore, 0);
  const duplicates = vms.reduce((s, v) => s + v.duplicates, 0);
  const switchDrops = last?.switch.drops ?? 0;
  const waitingForCpu = last?.switch.waitingForCpu ?? 0;
  const accounted = received + switchDrops + lostInStore + waitingForCpu;
  return {
    sent,
    received,
    switchDrops,
    dropsByReason: last?.switch.dropsByReason ?? {},
    lostInStore,
    duplicates,
    waitingForCpu,
    uncounted: Math.max(0, sent - accounted),
    countedTwice: Math.max(0, accounted - sent),
    storeLedgersByVm: Object.fromEntries(Object.entries(last?.vms ?? {}).map(([vm, v]) => [vm, v.ledgers])),
  };
}

/** Whether a run's frames have settled: every frame sent received or counted, and none still waiting for CPU. */
export function isSettled(accounting: Accounting): boolean {
  return accounting.uncounted === 0 && accounting.waitingForCpu === 0;
}

/**
 * The `framesLost` figure: every frame that did not arrive, counted or not (switch drops, store losses, frames still
 * waiting for CPU when the run ended, uncounted).
 */
export function framesLostOf(accounting: Accounting): number {
  return accounting.switchDrops + accounting.lostInStore + accounting.waitingForCpu + accounting.uncounted;
}

/** How one event showed in the delivered rate: the level before, the lowest after, and when it came back. */
export interface Dip {
  event: string;
  atMs: number;
  /** Mean frames received per second over the BASELINE_MS before the event. */
  baselinePerSecond: number;
  /** The lowest rate between the event and the next one (or the end). */
  minimumPerSecond: number;
  /** minimum / baseline (1 when there was no traffic before). */
  dipRatio: number;
  /** From the event to the first sample, after the lowest and after the effect ended, back at RECOVERED of baseline. */
  recoveryMs: number | null;
}

const BASELINE_MS = 4000;
/** Back to this share of the baseline counts as recovered. */
export const RECOVERED = 0.8;

export function findDips(series: readonly SeriesRow[], events: readonly PlannedEvent[], endMs: number): Dip[] {
  return events.map((planned, i) => {
    const next = events[i + 1]?.atMs ?? endMs;
    const before = series.filter((r) => r.tMs > planned.atMs - BASELINE_MS && r.tMs <= planned.atMs && r.tMs > 0);
    const baseline = before.length ? before.reduce((s, r) => s + r.receivedPerSecond, 0) / before.length : 0;
    const after = series.filter((r) => r.tMs > planned.atMs && r.tMs <= Math.max(next, planned.untilMs ?? 0));
    const lowest = after.reduce<SeriesRow | undefined>(
      (low, r) => (low === undefined || r.receivedPerSecond < low.receivedPerSecond ? r : low),
      undefined,
    );
    const minimum = lowest?.receivedPerSecond ?? baseline;
    const dipped = baseline > 0 && minimum < RECOVERED * baseline;
    const from = Math.max(lowest?.tMs ?? planned.atMs, planned.untilMs ?? planned.atMs);
    const back = dipped ? series.find((r) => r.tMs > from && r.receivedPerSecond >= RECOVERED * baseline) : undefined;
    return {
      event: planned.label,
      atMs: planned.atMs,
      baselinePerSecond: Math.round(baseline),
      minimumPerSecond: minimum,
      dipRatio: baseline > 0 ? round(minimum / baseline) : 1,
      recoveryMs: dipped ? (back ? back.tMs - planned.atMs : null) : 0,
    };
  });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
