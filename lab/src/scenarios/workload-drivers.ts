import { requestJson } from '@tenantlab/shared';
import type { Workload } from './scenario';
import { REPLAY_BATCH_LIMITS, replayLoop, replayRequest } from './replay-batches';
import { expectOk, type ScenarioContext, urlOf, wait } from './scenario-context';
import type { PlannedWorkload } from './scenario-plan';

/** What one workload did: requests made and failed, and per-run figures for the time series. */
export interface WorkloadStats {
  index: number;
  kind: Workload['kind'];
  from: string;
  runs: number;
  errors: number;
  lastError?: string;
  /** Traffic: frames the VM reported sent; transfer: messages; ping: round trips. */
  units: number;
  /** Per run: when it ended (ms since the start) and what it measured. */
  points: { tMs: number; [figure: string]: number }[];
}

type WorkloadOf<K extends Workload['kind']> = Extract<Workload, { kind: K }>;
export type WorkloadDriver<K extends Workload['kind']> = (
  planned: PlannedWorkload & { workload: WorkloadOf<K> },
  context: ScenarioContext,
  stats: WorkloadStats,
) => Promise<void>;

/** Traffic is sent in runs of at most this long, so the VM's answers give a time series and a fault ends one run only. */
const TRAFFIC_CHUNK_MS = 1000;
/** After a failed request, wait this long before the next (a restarting lab refuses for a while). */
const RETRY_MS = 250;
const DEFAULT_EVERY_MS = 1000;
/** A replay request is posted this long before its first frame is due, so that frame is not late by the round trip. */
const REPLAY_LEAD_MS = 50;

/**
 * The workload kinds: each drives one VM over its HTTP API until the run ends. A new kind is a schema entry, a type
 * and a driver here (the runner starts every workload through this table).
 */
export const WORKLOAD_DRIVERS: { [K in Workload['kind']]: WorkloadDriver<K> } = {
  async traffic(planned, context, stats) {
    const w = planned.workload;
    const url = urlOf(context, w.from);
    for (const [on, off] of planned.onPhases) {
      // Runs of TRAFFIC_CHUNK_MS on a grid from the phase's start, each asking for the frames due in it (frame i is
      // due i / rate after the start). The grid decides, not the clock read after a wait: the VM answers as it sends
      // a run's last frame, one interval before the run's time is up, and a timer may fire a millisecond before the
      // clock reads its time; a run started from the clock went again at once (a 1 frame/s workload sent 66 frames/s
      // in the lab) or ran a one-frame tail in the phase's last millisecond.
      const dueBy = (atMs: number): number => Math.ceil((w.ratePps * (atMs - on)) / 1000);
      for (let chunkStart = on; chunkStart < off; chunkStart += TRAFFIC_CHUNK_MS) {
        await waitUntil(context, chunkStart);
        if (context.signal.aborted) return;
        const chunkEnd = Math.min(off, chunkStart + TRAFFIC_CHUNK_MS);
        const count = dueBy(chunkEnd) - dueBy(chunkStart);
        if (count === 0) continue;
        const ms = chunkEnd - chunkStart;
        const body = {
          to: w.to,
          protocol: w.protocol ?? 'udp',
          count,
          size: w.size ?? 256,
          ratePps: w.ratePps,
          ...(w.flows === undefined ? {} : { flows: w.flows }),
          ...(w.zipf === undefined ? {} : { zipf: w.zipf }),
          // A different seed per run of the same workload, all drawn from the scenario's.
          seed: (planned.seed + stats.runs) >>> 0,
        };
        await attempt(stats, async () => {
          const report = await expectOk<{ sent: number; packetsPerSecond: number }>(
            `${w.from} POST /traffic/generate`,
            requestJson('POST', `${url}/traffic/generate`, body, ms + 30_000),
          );
          stats.units += report.sent;
          stats.points.push({ tMs: context.now(), sent: report.sent, pps: report.packetsPerSecond });
        });
      }
    }
  },
  async transfer(planned, context, stats) {
    const w = planned.workload;
    const url = urlOf(context, w.from);
    await repeat(planned, context, w.everyMs ?? DEFAULT_EVERY_MS, () =>
      attempt(stats, async () => {
        const report = await expectOk<{ verified: boolean; problem?: string; messagesPerSecond: number }>(
          `${w.from} POST /workloads/send`,
          requestJson(
            'POST',
            `${url}/workloads/send`,
            { target: w.target, mode: w.mode ?? 'stream', count: w.count, size: w.size },
            60_000,
          ),
        );
        if (!report.verified) throw new Error(`transfer not verified: ${report.problem ?? 'unknown problem'}`);
        stats.units += w.count;
        stats.points.push({ tMs: context.now(), messagesPerSecond: report.messagesPerSecond });
      }),
    );
  },
  async ping(planned, context, stats) {
    const w = planned.workload;
    const url = urlOf(context, w.from);
    await repeat(planned, context, w.everyMs ?? DEFAULT_EVERY_MS, () =>
      attempt(stats, async () => {
        const report = await expectOk<{ count: number; oneWayP50Us: number; oneWayP99Us: number }>(
          `${w.from} POST /workloads/ping`,
          requestJson(
            'POST',
            `${url}/workloads/ping`,
            { target: w.target, count: w.count ?? 100, size: w.size ?? 64 },
            60_000,
          ),
        );
        stats.units += report.count;
        stats.points.push({ tMs: context.now(), p50Us: report.oneWayP50Us, p99Us: report.oneWayP99Us });
      }),
    );
  },
  async replay(planned, context, stats) {
    const w = planned.workload;
    const url = urlOf(context, w.from);
    const capture = context.pcaps.get(w.pcap);
    if (!capture) throw new Error(`pcap ${w.pcap} was not loaded`);
    const speed = w.speed ?? 1;
    const loop = replayLoop(capture.records, speed);
    const options = { speed, ...(w.to === undefined ? {} : { to: w.to }) };
    await waitUntil(context, planned.startMs);
    const start = context.now();
    // In real ms since the replay's start: when a recorded offset is due, and when the run's stop ends the replay.
    const dueMs = (recordedUs: number): number => recordedUs / speed / 1000;
    const endMs = planned.stopMs - start;
    let tooLarge = 0;
    replay: for (let l = 0; l < (w.loops ?? 1); l++) {
      tooLarge += loop.tooLarge;
      const loopOffsetUs = l * loop.periodUs;
      for (const whole of loop.batches) {
        const batch = whole.filter((frame) => dueMs(loopOffsetUs + frame.offsetUs) < endMs);
        if (batch.length === 0 || context.signal.aborted) break replay;
        await waitUntil(context, start + dueMs(loopOffsetUs + batch[0].offsetUs) - REPLAY_LEAD_MS);
        if (context.signal.aborted) break replay;
        const body = replayRequest(batch, loopOffsetUs, (context.now() - start) * 1000, options);
        await attempt(stats, async () => {
          const report = await expectOk<{ sent: number; maxLateUs: number }>(
            `${w.from} POST /traffic/replay`,
            requestJson('POST', `${url}/traffic/replay`, body, REPLAY_BATCH_LIMITS.maxSpanMs + 30_000),
          );
          stats.units += report.sent;
          stats.points.push({ tMs: context.now(), sent: report.sent, maxLateUs: report.maxLateUs });
        });
      }
    }
    if (tooLarge > 0) stats.points.push({ tMs: context.now(), skippedTooLarge: tooLarge });
    if (w.to !== undefined) {
      // The receiver's count as it reads when the replay ends: every frame it took in the run (it cannot tell a
      // replayed frame from another); frames still on their way are not in it yet.
      await attempt(stats, async () => {
        const received = await expectOk<{ total: number }>(
          `${w.to} GET /traffic/received`,
          requestJson('GET', `${urlOf(context, w.to!)}/traffic/received`, undefined, 10_000),
        );
        stats.points.push({ tMs: context.now(), toReceivedTotal: received.total });
      });
    }
  },
  async echo(planned, context, stats) {
    const w = planned.workload;
    await attempt(stats, async () => {
      await expectOk(
        `${w.vm} POST /workloads/echo`,
        requestJson('POST', `${urlOf(context, w.vm)}/workloads/echo`, { service: w.service }, 10_000),
      );
    });
    if (stats.errors > 0) throw new Error(stats.lastError);
  },
};

/** Echo servers are set up before the timeline starts (transfers and pings need them); the rest run with it. */
export function isSetupWorkload(workload: Workload): boolean {
  return workload.kind === 'echo';
}

export function runWorkload(planned: PlannedWorkload, context: ScenarioContext, stats: WorkloadStats): Promise<void> {
  const driver = WORKLOAD_DRIVERS[planned.workload.kind] as WorkloadDriver<Workload['kind']>;
  return driver(planned, context, stats);
}

export function newStats(planned: PlannedWorkload): WorkloadStats {
  const w = planned.workload;
  return {
    index: planned.index,
    kind: w.kind,
    from: w.kind === 'echo' ? w.vm : w.from,
    runs: 0,
    errors: 0,
    units: 0,
    points: [],
  };
}

async function attempt(stats: WorkloadStats, run: () => Promise<void>): Promise<void> {
  stats.runs += 1;
  try {
    await run();
  } catch (error) {
    stats.errors += 1;
    stats.lastError = error instanceof Error ? error.message : String(error);
    await new Promise((done) => setTimeout(done, RETRY_MS));
  }
}

async function repeat(
  planned: PlannedWorkload,
  context: ScenarioContext,
  everyMs: number,
  run: () => Promise<void>,
): Promise<void> {
  // Runs at start, start + everyMs, ... while that time is before the stop: the schedule decides, not the clock read
  // after a wait (a timer may fire a millisecond before the clock reads its time, which ran one extra at the stop).
  for (let next = planned.startMs; next < planned.stopMs; next += everyMs) {
    await waitUntil(context, next);
    if (context.signal.aborted || context.now() >= planned.stopMs) return;
    await run();
  }
}

function waitUntil(context: ScenarioContext, atMs: number): Promise<void> {
  return wait(Math.max(0, atMs - context.now()), context.signal);
}
