import { DEFAULT_UTILITY_POLICY } from '@tenantlab/allocator';
import { runAllocationModes, satisfaction, seedFromEnv, TENANTS, WINDOWS } from './allocation.bench';
import { publishReport, quantile } from './bench-report';
import { type HeavyHitterLiveRun, runHeavyHitterLive, satisfactionFigures } from './heavy-hitter-live';

function wholeFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}; got "${raw}"`);
  }
  return value;
}

/**
 * `npm run bench -- heavy-hitter-live`: seed 004's experiment on the running switch and allocator (see
 * runHeavyHitterLive), static split then live utility-driven reallocation on the same traffic, beside the in-process
 * `allocation` benchmark's figure on the same seed. HH_LIVE_TENANTS (default 64), HH_LIVE_WINDOW_MS (default 15000),
 * ALLOCATION_SEED (default 2026). Writes bench/results/scenario-heavy-hitter-<tenants>.json.
 */
export async function runHeavyHitterLiveBenchmark(): Promise<void> {
  const seed = seedFromEnv(process.env['ALLOCATION_SEED']);
  const tenants = wholeFromEnv('HH_LIVE_TENANTS', TENANTS, 2, TENANTS);
  const windowMs = wholeFromEnv('HH_LIVE_WINDOW_MS', 15_000, 500, 120_000);
  const log = (line: string): void => console.log(`==> ${line}`);
  const runs: Record<'static' | 'live', HeavyHitterLiveRun> = {
    static: await runHeavyHitterLive({ tenants, seed, windowMs, mode: 'static', log }),
    live: await runHeavyHitterLive({ tenants, seed, windowMs, mode: 'live', log }),
  };
  log('in-process allocation benchmark on the same seed, for comparison');
  const inProcess = runAllocationModes(seed);
  const inProcessDriven = satisfaction(inProcess.driven.utility.slice(0, tenants));
  const inProcessMean = inProcessDriven.reduce((a, b) => a + b, 0) / inProcessDriven.length;
  const live = satisfactionFigures(runs.live);
  const fixed = satisfactionFigures(runs.static);
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  const p99 = runs.live.decisionToInstalledMs.length > 0 ? quantile(runs.live.decisionToInstalledMs, 0.99) : -1;
  await publishReport({
    name: `scenario-heavy-hitter-${tenants}`,
    setup: {
      tenants: `${tenants}, each 2 VM ports (tx/rx streams written and read as the vNICs would; no VM processes) running programs/flow-table.json`,
      services: 'real switch and allocator processes on a private Redis and Kafka (open broker), started per mode',
      traffic: `the in-process allocation benchmark's ${WINDOWS} windows on seed ${seed}, one per switch window of ${windowMs} ms`,
      windows:
        'UTILITY_WINDOW_RESET on (each window one detection interval from an empty table); the next window starts once ' +
        'the decision on the last is out and (live) installed, the same wait in both modes',
      utility: 'memory hit ratio per tenant and window, from the switch reports on allocator.utility-reports',
      satisfaction: `share of windows with utility > ${DEFAULT_UTILITY_POLICY.target}; mean and 5th percentile over tenants`,
      static: 'ALLOCATOR_REALLOCATION=static: the equal split at admission, kept',
      live: 'ALLOCATOR_REALLOCATION=live: reallocateByUtility after every window, re-linked, installed by the switch between batches',
      decision_to_installed: "allocator.decisions' decidedAtMs to the switch's install time of that pipeline version",
      order: 'static first, then live (one round each: a 64-tenant run takes minutes)',
      seed,
      straddled_windows: `${runs.static.straddledWindows} static, ${runs.live.straddledWindows} live`,
      rss_kib: `switch ${runs.live.switchRssKiB}, allocator ${runs.live.allocatorRssKiB} (live run, at its end)`,
    },
    metrics: {
      satisfaction_mean_live: round(live.mean),
      satisfaction_p5_live: round(live.p5),
      decision_to_installed_p99_ms: round(p99),
      relinks_live: runs.live.relinks,
      frames_lost_relink: runs.live.framesSent - runs.live.framesDelivered,
      frames_sent_live: runs.live.framesSent,
      satisfaction_mean_in_process_utility_driven: round(inProcessMean),
    },
    baseline: {
      satisfaction_mean_static: round(fixed.mean),
      satisfaction_p5_static: round(fixed.p5),
      frames_lost_static: runs.static.framesSent - runs.static.framesDelivered,
    },
    ratios: {
      live_vs_static_mean: round(live.mean / fixed.mean),
      live_minus_in_process_mean: round(live.mean - inProcessMean),
    },
    goals: {
      live_vs_static_mean: { atLeast: 1.1 },
      decision_to_installed_p99_ms: { atMost: 1000 },
      frames_lost_relink: { atMost: 0 },
    },
  });
}
