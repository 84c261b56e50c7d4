import { mulberry32 } from '@tenantlab/shared';
import { ZipfSampler } from '@tenantlab/tenant-vm';

/**
 * The lab's traffic driver asks the VM for at most this long a run at a time (TRAFFIC_CHUNK_MS in
 * lab/src/scenarios/workload-drivers.ts), each run with its own seed.
 */
export const TRAFFIC_CHUNK_MS = 1000;

/** What a traffic workload asks of its VM: frames per second, distinct flows and, optionally, Zipf(s) over them. */
export interface TrafficShape {
  ratePps: number;
  flows: number;
  zipf?: number;
}

/** One frame a VM sends: when (ms from the scenario's start) and which flow (0-based; source port 10000 + flow). */
export interface PlannedSend {
  atMs: number;
  flow: number;
}

/**
 * The frames one traffic workload sends, as the lab's driver requests them and the VM's generator paces and picks
 * them, on an ideal clock: in every on phase, runs of at most TRAFFIC_CHUNK_MS, each of round(rate x ms) frames (at
 * least one) with seed `seed + runs so far`; frame i of a run leaves i / rate after the run starts, and the next run
 * starts when this one's frames are paced out. A run's flows are drawn by the VM's ZipfSampler over mulberry32(its
 * seed), or round robin without `zipf`. Not modelled: the HTTP round trip between runs and scheduling jitter.
 */
export function plannedSends(
  onPhases: readonly (readonly [number, number])[],
  seed: number,
  shape: TrafficShape,
): PlannedSend[] {
  const sends: PlannedSend[] = [];
  const gapMs = 1000 / shape.ratePps;
  let runs = 0;
  for (const [on, off] of onPhases) {
    for (let startMs = on; startMs < off;) {
      const ms = Math.min(TRAFFIC_CHUNK_MS, off - startMs);
      const count = Math.max(1, Math.round((shape.ratePps * ms) / 1000));
      const runSeed = (seed + runs) >>> 0;
      runs += 1;
      const sampler =
        shape.zipf === undefined ? undefined : new ZipfSampler(shape.flows, shape.zipf, mulberry32(runSeed));
      for (let i = 0; i < count; i++) {
        sends.push({ atMs: startMs + i * gapMs, flow: sampler ? sampler.next() - 1 : i % shape.flows });
      }
      startMs += count * gapMs;
    }
  }
  return sends;
}

/** The sends that fall in each window [w x windowMs, (w + 1) x windowMs), for `windows` windows; later ones dropped. */
export function sendsByWindow(sends: readonly PlannedSend[], windowMs: number, windows: number): PlannedSend[][] {
  const byWindow = Array.from({ length: windows }, () => [] as PlannedSend[]);
  for (const send of sends) byWindow[Math.floor(send.atMs / windowMs)]?.push(send);
  return byWindow;
}
