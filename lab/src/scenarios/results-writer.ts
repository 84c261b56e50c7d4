import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Accounting, type Dip, SERIES_COLUMNS, type SeriesRow } from './analysis';
import type { Sample } from './collector';
import type { RunFigures } from './run-figures';
import { linePlot, type PlotMarker } from './line-plot';
import { cell, reportHead, table } from './markdown-report';
import type { VmMemoryFigures } from './vm-memory';
import type { Scenario } from './scenario';
import type { ScenarioPlan } from './scenario-plan';
import type { WorkloadStats } from './workload-drivers';

/** What one timeline event did. */
export interface EventOutcome {
  index: number;
  label: string;
  kind: string;
  atMs: number;
  /** When it was applied and when it finished, ms since the start. */
  startedMs: number;
  endedMs: number;
  ok: boolean;
  result: string;
}

export interface RunResults {
  scenario: Scenario;
  source: string;
  mode: 'local' | 'docker';
  plan: ScenarioPlan;
  startedAt: string;
  events: EventOutcome[];
  workloads: WorkloadStats[];
  samples: Sample[];
  series: SeriesRow[];
  dips: Dip[];
  accounting: Accounting;
  /** The measured window: receive latency per VM, program time and frames per tenant, the switch's CPU. */
  figures?: RunFigures;
  /** Resident memory per tenant VM, once the lab was up and near the end of the timeline. */
  vmMemory?: VmMemoryFigures;
  /** Why the run failed, if it did (a failed event, or the lab). */
  failures: string[];
}

/** The key figures, also in summary.json for scripts and tests. */
export function summaryOf(results: RunResults): Record<string, unknown> {
  return {
    name: results.scenario.name,
    seed: results.plan.seed,
    mode: results.mode,
    ok: results.failures.length === 0,
    failures: results.failures,
    accounting: results.accounting,
    ...(results.figures ? { figures: results.figures } : {}),
    ...(results.vmMemory ? { vmMemory: results.vmMemory } : {}),
    dips: results.dips,
    events: results.events.map(({ label, atMs, ok, result }) => ({ label, atMs, ok, result })),
    workloads: results.workloads.map(({ index, kind, from, runs, errors, units, lastError }) => ({
      index,
      kind,
      from,
      runs,
      errors,
      units,
      ...(lastError ? { lastError } : {}),
    })),
  };
}

/**
 * Writes the results folder: scenario.json (the file as run, with the seed), plan.json (every drawn value), the time
 * series as timeseries.csv and .json, workloads.json, summary.json, report.md and SVG plots.
 */
export function writeResults(dir: string, results: RunResults): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    'scenario.json': json({ ...results.scenario, seed: results.plan.seed }),
    'plan.json': json(results.plan),
    'timeseries.json': json({ columns: SERIES_COLUMNS, rows: results.series, samples: results.samples }),
    'timeseries.csv': csv(results.series),
    'workloads.json': json(results.workloads),
    'summary.json': json(summaryOf(results)),
    'received-rate.svg': ratePlot(results),
    'accounting.svg': accountingPlot(results),
  };
  const pings = results.workloads.filter((w) => w.kind === 'ping' && w.points.length > 0);
  if (pings.length > 0) files['ping-latency.svg'] = pingPlot(results, pings);
  files['report.md'] = report(
    results,
    Object.keys(files).filter((f) => f.endsWith('.svg')),
  );
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return Object.keys(files);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function csv(rows: readonly SeriesRow[]): string {
  return (
    [SERIES_COLUMNS.join(','), ...rows.map((row) => SERIES_COLUMNS.map((c) => row[c]).join(','))].join('\n') + '\n'
  );
}

function markers(results: RunResults): PlotMarker[] {
  return results.plan.events.map((e) => ({
    x: e.atMs / 1000,
    ...(e.untilMs === undefined ? {} : { until: e.untilMs / 1000 }),
    label: e.label,
  }));
}

function ratePlot(results: RunResults): string {
  const rows = results.series.filter((r) => r.tMs >= 0);
  return linePlot({
    title: `${results.scenario.name}: frames per second (seed ${results.plan.seed})`,
    xLabel: 'time (s)',
    yLabel: 'frames/s',
    lines: [
      { name: 'sent by the VMs', points: rows.map((r) => [r.tMs / 1000, r.sentPerSecond]) },
      { name: 'received by the VMs', points: rows.map((r) => [r.tMs / 1000, r.receivedPerSecond]) },
    ],
    markers: markers(results),
  });
}

function accountingPlot(results: RunResults): string {
  const rows = results.series.filter((r) => r.tMs >= 0);
  return linePlot({
    title: `${results.scenario.name}: frames sent, and received or counted`,
    xLabel: 'time (s)',
    yLabel: 'frames',
    lines: [
      { name: 'sent', points: rows.map((r) => [r.tMs / 1000, r.sent]) },
      { name: 'received', points: rows.map((r) => [r.tMs / 1000, r.received]) },
      {
        name: 'received + counted losses',
        points: rows.map((r) => [r.tMs / 1000, r.received + r.drops + r.lostInStore]),
      },
    ],
    markers: markers(results),
  });
}

function pingPlot(results: RunResults, pings: WorkloadStats[]): string {
  return linePlot({
    title: `${results.scenario.name}: one-way latency over circuits`,
    xLabel: 'time (s)',
    yLabel: 'µs',
    lines: pings.flatMap((w) => [
      { name: `p50 ${w.from} (workload ${w.index})`, points: w.points.map((p) => [p.tMs / 1000, p['p50Us'] ?? 0]) },
      { name: `p99 ${w.from} (workload ${w.index})`, points: w.points.map((p) => [p.tMs / 1000, p['p99Us'] ?? 0]) },
    ]),
    markers: markers(results),
  });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** The measured window as tables: what each VM received and how late, and each tenant's frames and program time. */
export function figuresSection(f: RunFigures): string[] {
  return [
    '## Measured window',
    '',
    `Over ${seconds(f.windowMs)} s (from \`collect.warmupMs\` to just before the end): frames each VM received and their` +
      ' one-way latency, measured by the receiving VM from the send time in each frame (`GET /traffic/received`).',
    '',
    table(
      ['VM', 'frames received', 'latency samples', 'p50 (µs)', 'p99 (µs)'],
      Object.entries(f.vms)
        .filter(([, v]) => v.received > 0)
        .map(([vm, v]) => [vm, v.received, v.latencySamples, cell(v.p50Us), cell(v.p99Us)]),
    ),
    '',
    "Per tenant, from the switch's `GET /dataplane` (counters and CPU accounting) at both ends of the window:",
    '',
    table(
      ['tenant', 'frames into the switch', 'program time (ms)', 'program ns/frame', 'cpu-budget drops'],
      Object.entries(f.tenants).map(([tenant, t]) => [
        tenant,
        t.framesIn,
        Math.round(t.programNs / 1e4) / 100,
        cell(t.programNsPerFrame),
        t.cpuBudgetDrops,
      ]),
    ),
    '',
    `Switch process CPU over the window: ${f.switch.cpuSeconds === null ? 'n/a' : `${f.switch.cpuSeconds} s`}, ` +
      `${cell(f.switch.cpuNsPerFrame)} ns per frame in (${f.switch.framesIn} frames).`,
    '',
  ];
}

/** Memory per tenant VM (issue 12: 64 tenants, 128 VMs, must fit a 24 GiB machine). */
export function vmMemorySection(memory: VmMemoryFigures, mode: RunResults['mode']): string[] {
  const rows = [
    ['lab up, idle', memory.ready],
    ['end of the timeline, under the workloads', memory.end],
  ] as const;
  return [
    '## Memory per tenant VM',
    '',
    mode === 'docker'
      ? "Each VM container's memory use (`docker stats`), as `lab status` shows it:"
      : "Each VM process's resident memory (RSS, from /proc), as `lab status` shows it:",
    '',
    table(
      ['when', 'VMs', 'p10 (MiB)', 'p50 (MiB)', 'p90 (MiB)', 'max (MiB)', 'all VMs (MiB)'],
      rows.flatMap(([when, m]) => (m ? [[when, m.vms, m.p10MiB, m.p50MiB, m.p90MiB, m.maxMiB, m.totalMiB]] : [])),
    ),
    '',
  ];
}

function report(results: RunResults, plots: string[]): string {
  const { plan, accounting: a } = results;
  const lines = [
    ...reportHead({ ...results, seed: plan.seed }, [
      `duration ${seconds(plan.durationMs)} s, counters polled every ${plan.intervalMs} ms`,
    ]),
    '## Timeline',
    '',
    table(
      ['at (s)', 'event', 'took (s)', 'result'],
      results.events.map((e) => [
        seconds(e.startedMs),
        e.label,
        seconds(e.endedMs - e.startedMs),
        `${e.ok ? 'ok' : 'FAILED'}: ${e.result}`,
      ]),
    ),
    '',
    '## Dips and recovery',
    '',
    `Frames received per second by all VMs: the mean over the 4 s before each event, the lowest after it, and the time` +
      ` from the event until the rate is back at 80% of that mean (after the lowest point and after the effect ended).`,
    '',
    table(
      ['event', 'at (s)', 'before (frames/s)', 'lowest (frames/s)', 'lowest / before', 'recovered after (s)'],
      results.dips.map((d) => [
        d.event,
        seconds(d.atMs),
        d.baselinePerSecond,
        d.minimumPerSecond,
        d.dipRatio,
        d.recoveryMs === null ? 'not recovered' : seconds(d.recoveryMs),
      ]),
    ),
    '',
    '## Every frame accounted for',
    '',
    'Frames the VMs wrote to their ports (confirmed, or without a reply) are received, dropped by the switch (counted' +
      ' per reason), counted by the store ledger when Redis restarted empty (`GET /vnic` lostInStore), or still held' +
      " by the switch when the run ended, waiting for their tenant's CPU share (`GET /dataplane` waitingForCpu).",
    '',
    table(
      [
        'sent',
        'received',
        'switch drops',
        'ledger losses',
        'waiting for CPU',
        'uncounted',
        'counted twice',
        'duplicates',
      ],
      [[a.sent, a.received, a.switchDrops, a.lostInStore, a.waitingForCpu, a.uncounted, a.countedTwice, a.duplicates]],
    ),
    '',
    a.countedTwice > 0
      ? `${a.countedTwice} frames are counted twice (received, and lost in the ledger): the store ledger's counts live` +
        " in the switch's memory, so when the switch restarted before Redis lost its data, the new switch did not know" +
        ' what its previous process had taken from the lost store, and the VMs counted those frames as lost.'
      : '',
    '',
    Object.keys(a.dropsByReason).length
      ? `Drops by reason: ${Object.entries(a.dropsByReason)
          .map(([r, n]) => `${r} ${n}`)
          .join(', ')}.`
      : 'No drops.',
    '',
    ...(results.figures ? figuresSection(results.figures) : []),
    ...(results.vmMemory ? vmMemorySection(results.vmMemory, results.mode) : []),
    '## Workloads',
    '',
    table(
      ['#', 'kind', 'from', 'requests', 'failed', 'units', 'last error'],
      results.workloads.map((w) => [w.index, w.kind, w.from, w.runs, w.errors, w.units, w.lastError ?? '']),
    ),
    '',
    '## Plots',
    '',
    ...plots.map((file) => `![${file}](${file})`),
    '',
    'Files: `timeseries.csv` / `timeseries.json` (every sample), `plan.json` (every value drawn from the seed),' +
      ' `summary.json` (these figures), `workloads.json`.',
    '',
  ];
  return lines.join('\n');
}
