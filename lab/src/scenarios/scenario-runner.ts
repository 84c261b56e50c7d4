import { setMaxListeners } from 'node:events';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { requestJson, serviceAuthHeaders } from '@tenantlab/shared';
import { startDockerLab } from '../docker/docker-lab';
import type { LabMode } from '../docker/lab-mode';
import { OPERATOR_ADMIN_TOKEN_SECRET, withToolUrls } from '../lab-identity';
import { type LabOptions, type RunningLab, startLab } from '../lab-runner';
import { readLabSecret } from '../lab-secrets';
import { labDataDir } from '../lab-state';
import { readAdminToken } from '../service-tokens';
import { accountFor, findDips, framesLostOf, isSettled, toSeries } from './analysis';
import { CounterCollector, probeTimeoutFor } from './collector';
import { applyEvent } from './event-handlers';
import { DockerLabControl, LocalLabControl } from './lab-control';
import { expectOk, putProgram, type ScenarioContext, urlOf, wait } from './scenario-context';
import { type LoadedScenario, loadScenario } from './scenario-loader';
import { planScenario } from './scenario-plan';
import { type EventOutcome, type RunResults, writeResults } from './results-writer';
import { isSetupWorkload, newStats, runWorkload } from './workload-drivers';
import { checkBenchable, type VariantResults, writeBenchResult, writeComparison } from './comparison';
import { figuresOf, readReceived, resetReceived, type RunFigures, snapshotSwitch } from './run-figures';
import { DEFAULT_SEED, type Scenario } from './scenario';
import { allocatorEnvOf, memoryEnvOf, runsOf, switchEnvOf } from './scenario-variants';
import { UtilityLoopCollector, utilityFiguresOf } from './utility-loop';
import { kafkaAdminCredentials } from '../testing/lab-clients';
import { METRICS_SCRAPE_TOKEN } from '../prometheus-config';
import { describeVmMemory, readVmMemory, vmMemoryOf, type VmMemoryFigures } from './vm-memory';

export interface RunScenarioOptions {
  repoRoot: string;
  file: string;
  seed?: number;
  mode: Exclude<LabMode, 'auto'>;
  /** The results folder; default results/<name>-<timestamp>/ in the repository. */
  out?: string;
  profile: string;
  portOffset: number;
  /** One line per step and per event. */
  onProgress: (line: string) => void;
  onLine?: LabOptions['onLine'];
  /** Ctrl-C: ends the timeline early; the lab is still torn down and the results written (the run fails). */
  interrupt?: AbortSignal;
  /** A scenario with comparisons also writes `<benchDir>/scenario-<name>.json` (bench/results with `--bench`). */
  benchDir?: string;
}

export interface ScenarioRun {
  ok: boolean;
  outDir: string;
  /** One per run: the scenario's, or each variant's in order. */
  results: RunResults[];
}

/**
 * Runs a scenario: brings the lab up, sets up the tenants (programs, CPU weights, sampling) and echo servers, starts
 * the counter collector, runs the workloads and applies the timeline at its times (one progress line per event:
 * time, event, result), lets the last frames settle, tears the lab down and writes the results folder. A failed event
 * fails the run but not the timeline: the other events still run and everything collected is written.
 * A scenario with variants runs each in turn, on a lab of its own, into `<out>/<variant>/`, and writes the comparison
 * (report.md, comparison.json, summary.json) into `<out>/`.
 */
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioRun> {
  const { scenario, programs, pcaps } = loadScenario(options.file, options.repoRoot);
  const files = { programs, pcaps };
  if (options.benchDir) checkBenchable(scenario, options.file);
  const startedAt = new Date();
  const outDir = resolve(
    options.repoRoot,
    options.out ?? join('results', `${scenario.name}-${startedAt.toISOString().replace(/[:.]/g, '-')}`),
  );
  const runs = runsOf(scenario);
  const say = options.onProgress;
  if (runs.length === 1 && runs[0]?.variant === undefined) {
    const results = await runOnce(scenario, files, options, outDir, startedAt);
    say(
      `results in ${relative(options.repoRoot, outDir) || outDir}${results.failures.length ? ` (failed: ${results.failures.join('; ')})` : ''}`,
    );
    return { ok: results.failures.length === 0, outDir, results: [results] };
  }
  const variants: VariantResults[] = [];
  for (const [i, run] of runs.entries()) {
    if (options.interrupt?.aborted) break;
    const name = run.variant!;
    say(`==> variant ${i + 1}/${runs.length}: ${name}${run.description ? ` (${run.description})` : ''}`);
    const results = await runOnce(
      run.scenario,
      files,
      { ...options, onProgress: (line) => say(`[${name}] ${line}`) },
      join(outDir, name),
      new Date(),
    );
    variants.push({ name, ...(run.description === undefined ? {} : { description: run.description }), results });
  }
  const failures = variants.flatMap((v) => v.results.failures.map((f) => `${v.name}: ${f}`));
  if (variants.length < runs.length) failures.push(`interrupted after ${variants.length} of ${runs.length} variants`);
  const seed = variants[0]?.results.plan.seed ?? options.seed ?? scenario.seed ?? DEFAULT_SEED;
  const measured = writeComparison(outDir, {
    scenario,
    source: relative(options.repoRoot, resolve(options.file)),
    mode: options.mode,
    seed,
    startedAt: startedAt.toISOString(),
    variants,
    failures,
    repoRoot: options.repoRoot,
  });
  if (options.benchDir) {
    say(
      `bench figures in ${relative(
        options.repoRoot,
        writeBenchResult(options.benchDir, scenario, seed, measured.ratios, measured.metrics),
      )}`,
    );
  }
  say(
    `results in ${relative(options.repoRoot, outDir) || outDir}${failures.length ? ` (failed: ${failures.join('; ')})` : ''}`,
  );
  return { ok: failures.length === 0, outDir, results: variants.map((v) => v.results) };
}

/** One lab run of a scenario (or of one variant of it): up, timeline, settle, down, results folder. */
async function runOnce(
  scenario: Scenario,
  files: Pick<LoadedScenario, 'programs' | 'pcaps'>,
  options: RunScenarioOptions,
  outDir: string,
  startedAt: Date,
): Promise<RunResults> {
  const plan = planScenario(scenario, options.seed);
  const say = options.onProgress;
  say(`scenario ${scenario.name}: seed ${plan.seed}, ${plan.events.length} events, ${plan.workloads.length} workloads`);

  const failures: string[] = [];
  const outcomes: EventOutcome[] = [];
  const stats = plan.workloads.map(newStats);
  let collector: CounterCollector | undefined;
  let lab: RunningLab | undefined;
  let figures: RunFigures | undefined;
  let loop: UtilityLoopCollector | undefined;
  const vmMemory: VmMemoryFigures = {};
  let originEpochMs = Date.now();
  let origin = performance.now();
  const now = (): number => performance.now() - origin;
  try {
    lab = await (options.mode === 'docker' ? startDockerLab : startLab)({
      repoRoot: options.repoRoot,
      definition: {
        name: scenario.name,
        tenants: scenario.tenants,
        circuitPolicy: circuitPolicyOf(scenario),
        ...(scenario.switch || scenario.allocator
          ? { switchEnv: { ...switchEnvOf(scenario.switch), ...memoryEnvOf(scenario.allocator) } }
          : {}),
        ...(scenario.allocator ? { allocatorEnv: allocatorEnvOf(scenario.allocator) } : {}),
      },
      profile: options.profile,
      portOffset: options.portOffset,
      readyTimeoutMs: readyTimeoutOf(scenario),
      onProgress: (message) => say(`==> ${message}`),
      onLine: options.onLine ?? (() => undefined),
    });
    const dataDir = labDataDir(options.repoRoot, options.profile);
    const adminToken = readAdminToken(dataDir);
    const operatorToken = readLabSecret(dataDir, OPERATOR_ADMIN_TOKEN_SECRET);
    if (!adminToken || !operatorToken) throw new Error(`the lab's tokens are missing from ${dataDir}`);
    // The scenario drives its VMs through their control URLs (lab-identity.ts); the lab's state keeps the plain ones.
    const driven = withToolUrls(lab.state, dataDir);
    const vmUrls = Object.fromEntries(driven.components.filter((c) => c.kind === 'vm').map((c) => [c.name, c.url]));
    collector = new CounterCollector(
      vmUrls,
      urlOf(lab, 'switch'),
      serviceAuthHeaders(adminToken),
      now,
      urlOf(lab, 'operator'),
      probeTimeoutFor(plan.intervalMs),
    );
    const abort = new AbortController();
    // Every workload and event waits on it (heavy-hitter-64 has 64 workloads): not a leak.
    setMaxListeners(plan.workloads.length + plan.events.length + 10, abort.signal);
    const context: ScenarioContext = {
      scenario,
      state: driven,
      control: options.mode === 'docker' ? new DockerLabControl(options.profile) : new LocalLabControl(lab.state),
      collector,
      ...files,
      serviceHeaders: serviceAuthHeaders(adminToken),
      operatorAdminHeaders: { authorization: `Bearer ${operatorToken}` },
      now,
      signal: abort.signal,
    };
    if (scenario.allocator) {
      // Seed 004's loop: every utility report and decision of the run, for the satisfaction figures.
      loop = new UtilityLoopCollector(
        urlOf(lab, 'kafka'),
        kafkaAdminCredentials(lab.state, adminToken),
        `lab-scenario-${scenario.name}-${process.pid}-${Date.now()}`,
      );
      await loop.start();
    }
    // Before the tenants' set-up, so a run that fails there still reports it.
    vmMemory.ready = vmMemoryOf(await readVmMemory(lab.state));
    say(describeVmMemory('lab up, idle', vmMemory.ready));
    await setUpTenants(context, say);
    for (const planned of plan.workloads.filter((p) => isSetupWorkload(p.workload))) {
      await runWorkload(planned, context, stats[planned.index]);
    }

    origin = performance.now();
    originEpochMs = Date.now();
    collector.start(plan.intervalMs);
    say(`running for ${(plan.durationMs / 1000).toFixed(1)} s`);
    const workloads = plan.workloads
      .filter((p) => !isSetupWorkload(p.workload))
      .map((p) => runWorkload(p, context, stats[p.index]));
    const events = plan.events.map(async (planned) => {
      await wait(Math.max(0, planned.atMs - now()));
      const startedMs = now();
      let ok = true;
      let result: string;
      try {
        result = await applyEvent(planned.event, context);
      } catch (error) {
        ok = false;
        result = error instanceof Error ? error.message : String(error);
        failures.push(`event timeline[${planned.index}] (${planned.label}) failed: ${result}`);
      }
      const outcome: EventOutcome = {
        index: planned.index,
        label: planned.label,
        kind: planned.event.kind,
        atMs: planned.atMs,
        startedMs,
        endedMs: now(),
        ok,
        result,
      };
      outcomes.push(outcome);
      say(
        `${(startedMs / 1000).toFixed(1).padStart(7)} s  ${planned.label.padEnd(28)} ${ok ? 'ok    ' : 'FAILED'} ${result}`,
      );
    });
    // Handled at once: a VM that fails the window's first read while the timeline runs would otherwise be an
    // unhandled rejection, which ended the runner before it wrote any results (heavy-hitter-64, a VM hung up).
    const measuring = measure(context, lab, plan.durationMs, scenario.collect?.warmupMs ?? 0, options).catch(
      (error: unknown) => {
        failures.push(`measuring the window: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      },
    );
    await wait(Math.max(0, plan.durationMs - now()), options.interrupt);
    if (options.interrupt?.aborted) failures.push(`interrupted at ${(now() / 1000).toFixed(1)} s`);
    figures = await measuring;
    // Still under the workloads: they stop at the abort below.
    vmMemory.end = vmMemoryOf(await readVmMemory(lab.state));
    say(describeVmMemory('end of the timeline, under the workloads', vmMemory.end));
    abort.abort();
    await Promise.all([...workloads, ...events]);
    say(`run over at ${(now() / 1000).toFixed(1)} s; letting the last frames settle`);
    await settle(collector, plan.drainMs);
    if (figures) {
      figures.framesLost = framesLostOf(accountFor(collector.samples.at(-1)));
      if (loop) {
        const fromMs = originEpochMs + (scenario.collect?.warmupMs ?? 0);
        figures.utility = utilityFiguresOf(loop.reports, loop.decisions, fromMs, originEpochMs + plan.durationMs);
        say(
          `utility loop: ${figures.utility.reports} reports, satisfaction mean ${figures.utility.satisfactionMean}` +
            ` p5 ${figures.utility.satisfactionP5}, ${figures.utility.relinks} re-links, decision-to-installed p99` +
            ` ${figures.utility.decisionToInstalledP99Ms} ms, ${figures.framesLost} frames lost`,
        );
      }
    }
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  } finally {
    await collector?.stop();
    await loop?.stop();
    if (lab) {
      say('==> stopping the lab');
      await lab.stop().catch((error: unknown) => failures.push(`stopping the lab: ${String(error)}`));
    }
  }

  const series = toSeries(collector?.samples ?? []);
  const results: RunResults = {
    scenario,
    source: relative(options.repoRoot, resolve(options.file)),
    mode: options.mode,
    plan,
    startedAt: startedAt.toISOString(),
    events: outcomes.sort((a, b) => a.atMs - b.atMs || a.index - b.index),
    workloads: stats,
    samples: collector?.samples ?? [],
    series,
    dips: findDips(series, plan.events, plan.durationMs),
    accounting: accountFor(collector?.samples.at(-1)),
    ...(figures ? { figures } : {}),
    ...(vmMemory.ready || vmMemory.end ? { vmMemory } : {}),
    failures,
  };
  writeResults(outDir, results);
  return results;
}

/**
 * The run's window figures, read from the lab itself: at `warmupMs` every VM's receive counts are reset and the switch
 * is read; just before the end of the timeline the VMs and the switch are read again. Resolves when done.
 */
async function measure(
  context: ScenarioContext,
  lab: RunningLab,
  durationMs: number,
  warmupMs: number,
  options: RunScenarioOptions,
): Promise<RunFigures> {
  const vmUrls = Object.fromEntries(
    context.state.components.filter((c) => c.kind === 'vm').map((c) => [c.name, c.url]),
  );
  const switchUrl = urlOf(lab, 'switch');
  const metricsToken = readLabSecret(labDataDir(options.repoRoot, options.profile), METRICS_SCRAPE_TOKEN);
  await wait(Math.max(0, warmupMs - context.now()), options.interrupt);
  const from = context.now();
  await resetReceived(vmUrls);
  const start = await snapshotSwitch(switchUrl, context.serviceHeaders, metricsToken);
  // Read just before the end, while every workload still sends: the window is steady traffic only.
  await wait(Math.max(0, durationMs - END_READ_MS - context.now()), options.interrupt);
  const [vms, end] = await Promise.all([
    readReceived(vmUrls),
    snapshotSwitch(switchUrl, context.serviceHeaders, metricsToken),
  ]);
  return figuresOf(context.now() - from, vms, start, end);
}

/**
 * How long the lab may take to answer ready: the lab runner's 90 s, and 2 s more per VM beyond 32. Each VM's own
 * deadline runs from its start (the lab starts a few at a time); the switch's attaching every port is waited for as
 * long.
 */
export function readyTimeoutOf(scenario: Scenario): number {
  const vms = scenario.tenants.reduce((sum, t) => sum + t.vms.length, 0);
  return 90_000 + Math.max(0, vms - 32) * 2000;
}

/** How long before the end of the timeline the window closes. */
const END_READ_MS = 500;

/** The lab file's per-tenant `allow` lists as the operator's CIRCUIT_POLICY rules. */
export function circuitPolicyOf(scenario: Scenario): { from: string; to: string; service: string }[] {
  return scenario.tenants.flatMap((t) => (t.allow ?? []).map((rule) => ({ from: t.id, ...rule })));
}

async function setUpTenants(context: ScenarioContext, say: (line: string) => void): Promise<void> {
  for (const tenant of context.scenario.tenants) {
    const done: string[] = [];
    if (tenant.program !== undefined) done.push(await putProgram(context, tenant.id, tenant.program));
    const switchUrl = urlOf(context, 'switch');
    if (tenant.cpuWeight !== undefined) {
      await expectOk(
        `switch PUT /tenants/${tenant.id}/cpu-weight`,
        requestJson(
          'PUT',
          `${switchUrl}/tenants/${tenant.id}/cpu-weight`,
          { weight: tenant.cpuWeight },
          10_000,
          context.serviceHeaders,
        ),
      );
      done.push(`CPU weight ${tenant.cpuWeight}`);
    }
    if (tenant.traceSampling !== undefined) {
      await expectOk(
        `switch PUT /tenants/${tenant.id}/sampling`,
        requestJson(
          'PUT',
          `${switchUrl}/tenants/${tenant.id}/sampling`,
          { rate: tenant.traceSampling },
          10_000,
          context.serviceHeaders,
        ),
      );
      done.push(`trace sampling ${tenant.traceSampling}`);
    }
    if (done.length) say(`==> ${tenant.id}: ${done.join(', ')}`);
  }
}

/**
 * Samples until every frame sent is received or counted, none still waiting for CPU in the switch (or `drainMs`
 * passes): the last sample is the balance.
 */
async function settle(collector: CounterCollector, drainMs: number): Promise<void> {
  const deadline = performance.now() + drainMs;
  for (;;) {
    const sample = await collector.sampleNow();
    if (isSettled(accountFor(sample)) || performance.now() > deadline) return;
    await wait(250);
  }
}
