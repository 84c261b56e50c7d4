import { requestJson } from '@tenantlab/shared';
import type { UtilityFigures } from './utility-loop';

/** What the switch showed at one moment: per-tenant frames in, program time charged and drops; its process CPU. */
export interface SwitchSnapshot {
  tenants: Record<string, { rxFrames: number; programNs: number; drops: Record<string, number> }>;
  rxFrames: number;
  /** process_cpu_seconds_total from its /metrics; undefined when it did not answer. */
  cpuSeconds?: number;
}

/** One receiving VM over the measured window (from `collect.warmupMs` to the end of the timeline). */
export interface VmFigures {
  /** TLAB frames counted (GET /traffic/received, every source). */
  received: number;
  latencySamples: number;
  p50Us: number | null;
  p99Us: number | null;
}

export interface TenantFigures {
  /** Frames its VMs sent into the switch over the window. */
  framesIn: number;
  /** Program time the switch charged to it (its CPU accounting), ns. */
  programNs: number;
  programNsPerFrame: number | null;
  /** Frames dropped for want of CPU budget. */
  cpuBudgetDrops: number;
}

/** What one run (one variant) measured over its window, all read from the running lab. */
export interface RunFigures {
  windowMs: number;
  vms: Record<string, VmFigures>;
  tenants: Record<string, TenantFigures>;
  switch: { framesIn: number; cpuSeconds: number | null; cpuNsPerFrame: number | null };
  /** Seed 004's loop over the window, from Kafka (a scenario with an `allocator` section). */
  utility?: UtilityFigures;
  /**
   * Frames sent over the whole run and not delivered, once the last ones settled: the switch's drops (any reason),
   * the VMs' store-ledger losses, and frames neither received nor counted (the run's frame accounting).
   */
  framesLost?: number;
}

interface DataplaneView {
  programCpuNs?: Record<string, number>;
  counters: { tenants: Record<string, { rxFrames: number; drops: Record<string, number> }> };
}

interface ReceivedView {
  bySource: Record<string, { received: number }>;
  latencyUs: { samples: number; p50: number | null; p99: number | null };
}

/** Reads the switch's GET /dataplane and /metrics (process CPU): one snapshot, or an error naming what failed. */
export async function snapshotSwitch(
  switchUrl: string,
  headers: Record<string, string>,
  metricsToken: string | undefined,
): Promise<SwitchSnapshot> {
  const [dataplane, metrics] = await Promise.all([
    requestJson<DataplaneView>('GET', `${switchUrl}/dataplane`, undefined, 5000, headers),
    metricsToken === undefined ? undefined : readCpuSeconds(switchUrl, metricsToken),
  ]);
  if (dataplane.status !== 200) throw new Error(`switch GET /dataplane answered ${dataplane.status}`);
  const tenants: SwitchSnapshot['tenants'] = {};
  let rxFrames = 0;
  for (const [tenant, counters] of Object.entries(dataplane.body.counters.tenants)) {
    tenants[tenant] = {
      rxFrames: counters.rxFrames,
      programNs: dataplane.body.programCpuNs?.[tenant] ?? 0,
      drops: { ...counters.drops },
    };
    rxFrames += counters.rxFrames;
  }
  return { tenants, rxFrames, ...(metrics === undefined ? {} : { cpuSeconds: metrics }) };
}

async function readCpuSeconds(switchUrl: string, token: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${switchUrl}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return undefined;
    return parseCpuSeconds(await response.text());
  } catch {
    return undefined;
  }
}

/** process_cpu_seconds_total from a Prometheus text exposition. */
export function parseCpuSeconds(text: string): number | undefined {
  const match = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Resets every VM's receive counts and latency histogram (DELETE /traffic/received): the window starts now. */
export async function resetReceived(vmUrls: Record<string, string>): Promise<void> {
  await Promise.all(
    Object.entries(vmUrls).map(async ([vm, url]) => {
      const answer = await requestJson('DELETE', `${url}/traffic/received`, undefined, 5000);
      if (answer.status !== 204) throw new Error(`${vm} DELETE /traffic/received answered ${answer.status}`);
    }),
  );
}

/** Each VM's receive figures (GET /traffic/received); a VM that does not answer is left out. */
export async function readReceived(vmUrls: Record<string, string>): Promise<Record<string, VmFigures>> {
  const entries = await Promise.all(
    Object.entries(vmUrls).map(async ([vm, url]) => {
      const answer = await requestJson<ReceivedView>('GET', `${url}/traffic/received`, undefined, 5000).catch(
        () => undefined,
      );
      if (answer?.status !== 200) return undefined;
      const { bySource, latencyUs } = answer.body;
      const figures: VmFigures = {
        received: Object.values(bySource).reduce((sum, s) => sum + s.received, 0),
        latencySamples: latencyUs.samples,
        p50Us: latencyUs.p50,
        p99Us: latencyUs.p99,
      };
      return [vm, figures] as const;
    }),
  );
  return Object.fromEntries(entries.filter((e) => e !== undefined));
}

/** The window's figures: the VMs' as read at its end, the switch's as the difference of two snapshots. */
export function figuresOf(
  windowMs: number,
  vms: Record<string, VmFigures>,
  start: SwitchSnapshot,
  end: SwitchSnapshot,
): RunFigures {
  const tenants: Record<string, TenantFigures> = {};
  for (const [tenant, last] of Object.entries(end.tenants)) {
    const first = start.tenants[tenant] ?? { rxFrames: 0, programNs: 0, drops: {} };
    const framesIn = last.rxFrames - first.rxFrames;
    const programNs = last.programNs - first.programNs;
    tenants[tenant] = {
      framesIn,
      programNs,
      programNsPerFrame: framesIn > 0 ? Math.round(programNs / framesIn) : null,
      cpuBudgetDrops: (last.drops['cpu-budget'] ?? 0) - (first.drops['cpu-budget'] ?? 0),
    };
  }
  const framesIn = end.rxFrames - start.rxFrames;
  const cpuSeconds =
    start.cpuSeconds === undefined || end.cpuSeconds === undefined ? null : end.cpuSeconds - start.cpuSeconds;
  return {
    windowMs: Math.round(windowMs),
    vms,
    tenants,
    switch: {
      framesIn,
      cpuSeconds: cpuSeconds === null ? null : Math.round(cpuSeconds * 1000) / 1000,
      cpuNsPerFrame: cpuSeconds !== null && framesIn > 0 ? Math.round((cpuSeconds * 1e9) / framesIn) : null,
    },
  };
}
