#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JAEGER_QUERY_USER } from '@tenantlab/shared';
import { dashboardHint } from './dashboard-access';
import { buildLabImages, engineAnswers, ensureEngine } from './docker';
import { chooseMode, LabMode } from './docker/lab-mode';
import { composeFileOf, runCompose, saveContainerLogs, startDockerLab } from './docker/docker-lab';
import { impairCommand } from './impair-command';
import { installInfra } from './infra';
import { readLabDefinition } from './lab-definition';
import { type RunningLab, startLab } from './lab-runner';
import {
  JAEGER_QUERY_PASSWORD,
  labSecretFile,
  readJaegerQueryPassword,
  readLabSecret,
  readRedisAdminPassword,
} from './lab-secrets';
import { PROMETHEUS_USER } from './infra/prometheus.component';
import { PROMETHEUS_WEB_PASSWORD, prometheusWebPasswordFile } from './prometheus-config';
import { readAdminToken } from './service-tokens';
import { clearLabState, isProcessAlive, labDataDir, readLabState } from './lab-state';
import { collectStatus, formatStatusTable, type StatusCredentials } from './lab-status';
import { formatLogLine } from './log-formatter';
import { runScenario } from './scenarios';

const REPO_ROOT = resolve(__dirname, '..', '..');

const HELP = `Tenantlab lab runner

Usage: npm run lab -- <command> [options]

Commands:
  up          bring up a lab (default): Redis, Kafka, Jaeger, the services and the tenant VMs, as
              containers (Docker mode) or local processes; streams a merged log; Ctrl-C stops
              everything. Redis's admin password is in .lab/NAME/redis-admin-password (only the
              services get it, never the tenant VMs)
  run FILE    run a scenario (a lab file with workloads and a timeline, see scenarios/ and the
              README's lab-file section): brings the lab up, applies the timeline with one line per
              event, collects the counters, tears the lab down and writes a results folder (report.md,
              time series as CSV and JSON, SVG plots). Exits 1 if an event failed (results still written)
  status      show each component with its URL, readiness and memory (--json for machines)
  down        stop a lab started from another terminal
  install     install Redis, Kafka and Jaeger if missing (first time: several minutes)
  images      build the Docker lab's images without a registry (Debian, npm, Maven, Go sources);
              only what changed is rebuilt. Needs a running engine (see engine)
  engine      start the Docker engine (dockerd) if it is installed but not running (root)
  impair VM   set a VM's port impairment, applied by the switch to the frames it delivers to the VM:
              --delay MS --jitter MS --loss P --reorder P --rate FPS --seed N (any of them);
              --clear removes it (held frames are flushed in order), --show prints it
  help        this text

Options:
  --lab FILE          lab definition (default labs/default.json)
  --profile NAME      data folder .lab/NAME and state of this lab (default "default")
  --port-offset N     move every port by N, to run a second lab beside one (default 0)
  --mode MODE         up: docker, local or auto (default auto, or TENANTLAB_MODE): Docker only when an
                      engine answers, Compose is installed and the images exist (npm run lab -- images)
  --quiet             up: show progress only, not the merged log (logs stay in .lab/NAME/logs)
  --prometheus        up: also run Prometheus (127.0.0.1:9090 + offset) scraping every service's and
                      VM's /metrics; local mode installs Debian's prometheus package the first time
                      (root), Docker mode runs the tenantlab/prometheus image (npm run lab -- images)
  --json              status: print JSON
  --seed N            run: seed every random choice with N instead of the file's seed; impair: the
                      seed of the impairment's random choices
  --out DIR           run: the results folder (default results/<scenario>-<timestamp>/)
  --bench             run: also writes comparisons and metrics to bench/results/scenario-<name>.json
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      lab: { type: 'string', default: 'labs/default.json' },
      profile: { type: 'string', default: 'default' },
      'port-offset': { type: 'string', default: '0' },
      quiet: { type: 'boolean', default: false },
      prometheus: { type: 'boolean', default: false },
      mode: { type: 'string', default: process.env['TENANTLAB_MODE'] ?? 'auto' },
      json: { type: 'boolean', default: false },
      seed: { type: 'string' },
      out: { type: 'string' },
      bench: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      delay: { type: 'string' },
      jitter: { type: 'string' },
      loss: { type: 'string' },
      reorder: { type: 'string' },
      rate: { type: 'string' },
      clear: { type: 'boolean', default: false },
      show: { type: 'boolean', default: false },
    },
  });
  const command = values.help ? 'help' : (positionals[0] ?? 'up');
  const portOffset = Number(values['port-offset']);
  if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 50_000) {
    throw new UsageError('--port-offset must be an integer from 0 to 50000');
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(values.profile)) throw new UsageError('--profile must be a name of a-z, 0-9 and -');
  if (!['auto', 'docker', 'local'].includes(values.mode)) throw new UsageError('--mode must be docker, local or auto');

  switch (command) {
    case 'up':
      return up(resolve(REPO_ROOT, values.lab), values.profile, portOffset, values.quiet, values.mode as LabMode, {
        prometheus: values.prometheus,
      });
    case 'run':
      return run(
        positionals[1],
        values.seed,
        values.out,
        values.profile,
        portOffset,
        values.mode as LabMode,
        values.bench,
      );
    case 'status':
      return status(values.profile, values.json);
    case 'down':
      return down(values.profile);
    case 'install':
      await installInfra((message) => console.log(`==> ${message}`));
      console.log('Redis, Kafka and Jaeger are installed.');
      return 0;
    case 'images':
      return images();
    case 'engine':
      console.log(`Docker engine ${await ensureEngine(labDataDir(REPO_ROOT, 'docker'))}.`);
      return 0;
    case 'impair':
      return impairCommand(REPO_ROOT, values.profile, positionals[1], values, impairMode(values));
    case 'help':
      console.log(HELP);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function up(
  labFile: string,
  profile: string,
  portOffset: number,
  quiet: boolean,
  requested: LabMode,
  extras: { prometheus: boolean } = { prometheus: false },
): Promise<number> {
  const existing = readLabState(REPO_ROOT, profile);
  if (existing && isProcessAlive(existing.runnerPid)) {
    console.error(
      `A lab with profile "${profile}" is already running (pid ${existing.runnerPid}). ` +
        'Stop it with `npm run lab -- down`, or start another with --profile NAME --port-offset N.',
    );
    return 1;
  }
  const definition = readLabDefinition(labFile);
  const progress = (message: string): void => console.log(`==> ${message}`);
  const mode = await chooseMode(requested, undefined, extras.prometheus ? ['prometheus'] : []);
  progress(`mode: ${mode.mode} (${mode.reason})`);
  if (mode.mode === 'docker' && mode.problem) {
    console.error(`--mode docker: ${mode.problem}`);
    return 1;
  }
  // Ctrl-C while starting. Local mode: exit at once; the supervisor's exit hook kills every child already started.
  // Docker mode: containers outlive the runner, so the start is aborted and removes them (compose down) before the
  // runner exits; a second Ctrl-C exits at once.
  const startup = new AbortController();
  const interruptStartup = (): void => {
    if (mode.mode === 'docker' && !startup.signal.aborted) {
      console.error('interrupted while starting; removing the containers started (Ctrl-C again to exit now)');
      startup.abort();
      process.once('SIGINT', interruptStartup);
      return;
    }
    console.error('interrupted while starting; killing what was started');
    process.exit(130);
  };
  process.once('SIGINT', interruptStartup);
  process.once('SIGTERM', interruptStartup);
  let lab: RunningLab;
  try {
    lab = await (mode.mode === 'docker' ? startDockerLab : startLab)({
      repoRoot: REPO_ROOT,
      definition,
      profile,
      portOffset,
      prometheus: extras.prometheus,
      interrupt: startup.signal,
      onProgress: progress,
      onLine: quiet ? () => undefined : (name, line) => console.log(formatLogLine(name, line)),
    });
  } catch (error) {
    if (!startup.signal.aborted) throw error;
    // startDockerLab removed what it had started before rethrowing.
    progress('interrupted: the containers started are removed');
    return 130;
  }
  console.log(formatStatusTable(lab.state, await collectStatus(lab.state, statusCredentialsOf(profile))));
  // Locally Jaeger's query API takes the lab's password (every VM reaches 127.0.0.1); in Docker no VM reaches it.
  const jaegerAccess =
    lab.state.mode === 'docker'
      ? ''
      : ` (user ${JAEGER_QUERY_USER}, password in ${labSecretFile(labDataDir(REPO_ROOT, profile), JAEGER_QUERY_PASSWORD)})`;
  console.log(
    `\nLab "${profile}" is ready. Jaeger query API: ${urlOf(lab.state, 'jaeger')}/api/services${jaegerAccess}`,
  );
  if (extras.prometheus) {
    // The root, not /targets: Debian's build serves its UI under /classic/ and the root redirects there.
    // Its own password, not a scrape token: a VM sees the VMs' scrape token on every scrape.
    const passwordFile = prometheusWebPasswordFile(labDataDir(REPO_ROOT, profile));
    console.log(
      `Prometheus: ${urlOf(lab.state, 'prometheus')}/ (user ${PROMETHEUS_USER}, password in ${passwordFile})`,
    );
  }
  console.log(dashboardHint(urlOf(lab.state, 'telemetry'), labDataDir(REPO_ROOT, profile)));
  console.log('Ctrl-C stops everything. `npm run lab -- status` shows this table again.\n');

  process.off('SIGINT', interruptStartup);
  process.off('SIGTERM', interruptStartup);
  let stopping = false;
  const stop = async (reason: string): Promise<number> => {
    if (stopping) return 0;
    stopping = true;
    progress(`${reason}: stopping the lab`);
    await lab.stop();
    progress('stopped; nothing left running');
    return 0;
  };
  return new Promise<number>((done) => {
    process.once('SIGINT', () => void stop('Ctrl-C').then(done));
    process.once('SIGTERM', () => void stop('SIGTERM').then(done));
  });
}

async function run(
  file: string | undefined,
  seedText: string | undefined,
  out: string | undefined,
  profile: string,
  portOffset: number,
  requested: LabMode,
  bench = false,
): Promise<number> {
  if (!file) throw new UsageError('run needs a scenario file, such as `npm run lab -- run scenarios/faults.json`');
  const seed = seedText === undefined ? undefined : Number(seedText);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
    throw new UsageError('--seed must be an integer from 0 to 4294967295');
  }
  const existing = readLabState(REPO_ROOT, profile);
  if (existing && isProcessAlive(existing.runnerPid)) {
    console.error(`A lab with profile "${profile}" is running (pid ${existing.runnerPid}): stop it, or use --profile.`);
    return 1;
  }
  const mode = await chooseMode(requested);
  console.log(`==> mode: ${mode.mode} (${mode.reason})`);
  if (mode.mode === 'docker' && mode.problem) {
    console.error(`--mode docker: ${mode.problem}`);
    return 1;
  }
  // Ctrl-C ends the timeline early: the lab is still stopped (containers too) and the results written.
  const interrupt = new AbortController();
  const stopEarly = (): void => {
    console.error('interrupted: ending the run, stopping the lab and writing the results');
    interrupt.abort();
  };
  process.once('SIGINT', stopEarly);
  process.once('SIGTERM', stopEarly);
  const { ok } = await runScenario({
    repoRoot: REPO_ROOT,
    file: resolve(process.cwd(), file),
    ...(seed === undefined ? {} : { seed }),
    ...(out === undefined ? {} : { out: resolve(process.cwd(), out) }),
    ...(bench ? { benchDir: join(REPO_ROOT, 'bench', 'results') } : {}),
    mode: mode.mode,
    profile,
    portOffset,
    onProgress: (line) => console.log(line),
    interrupt: interrupt.signal,
  });
  return ok ? 0 : 1;
}

async function images(): Promise<number> {
  if (!engineAnswers()) {
    console.error('No Docker engine answers `docker info`. Start one with `npm run lab -- engine` (root).');
    return 1;
  }
  const started = Date.now();
  const reports = await buildLabImages(REPO_ROOT, (message) => console.log(`==> ${message}`));
  const total = reports.reduce((sum, r) => sum + r.sizeBytes, 0);
  const built = reports.filter((r) => r.action === 'built').length;
  console.log(
    `${reports.length} images (${built} built) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `${(total / 1024 / 1024).toFixed(0)} MiB summed over the images (shared layers counted in each).`,
  );
  return 0;
}

async function status(profile: string, json: boolean): Promise<number> {
  const state = readLabState(REPO_ROOT, profile);
  if (!state || (!isProcessAlive(state.runnerPid) && state.mode !== 'docker')) {
    if (json) console.log(JSON.stringify({ profile, running: false, components: [] }));
    else console.log(`No lab "${profile}" is running. Start one with \`npm run lab\`.`);
    return 3;
  }
  const rows = await collectStatus(state, statusCredentialsOf(profile));
  if (json)
    console.log(JSON.stringify({ profile, running: true, runnerPid: state.runnerPid, components: rows }, null, 2));
  else console.log(formatStatusTable(state, rows));
  return rows.every((r) => r.ready) ? 0 : 1;
}

async function down(profile: string): Promise<number> {
  const state = readLabState(REPO_ROOT, profile);
  // A Docker lab whose runner is gone can still have containers: remove them (and its networks and volumes).
  if (state?.mode === 'docker' && !isProcessAlive(state.runnerPid) && existsSync(composeFileOf(REPO_ROOT, profile))) {
    // Compose deletes the containers' logs with them: keep them where `up` does.
    await saveContainerLogs(profile, join(labDataDir(REPO_ROOT, profile), 'logs'));
    await runCompose(REPO_ROOT, profile, ['down', '--volumes', '--remove-orphans', '--timeout', '10'], 'stop the lab');
    clearLabState(REPO_ROOT, profile);
    console.log(`Lab "${profile}" stopped.`);
    return 0;
  }
  if (!state || !isProcessAlive(state.runnerPid)) {
    console.log(`No lab "${profile}" is running.`);
    return 0;
  }
  process.kill(state.runnerPid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (isProcessAlive(state.runnerPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (isProcessAlive(state.runnerPid)) {
    console.error(`The lab runner (pid ${state.runnerPid}) did not stop within 60 s.`);
    return 1;
  }
  console.log(`Lab "${profile}" stopped.`);
  return 0;
}

/** The profile's secrets the status probes need, as the running lab made them; output never shows them. */
function statusCredentialsOf(profile: string): StatusCredentials {
  const dataDir = labDataDir(REPO_ROOT, profile);
  return {
    redisPassword: readRedisAdminPassword(dataDir),
    kafkaAdminPassword: readAdminToken(dataDir),
    prometheusPassword: readLabSecret(dataDir, PROMETHEUS_WEB_PASSWORD),
    jaegerQueryPassword: readJaegerQueryPassword(dataDir),
  };
}

function urlOf(state: { components: { name: string; url: string }[] }, name: string): string {
  return state.components.find((c) => c.name === name)?.url ?? '';
}

function impairMode({ clear, show }: { clear: boolean; show: boolean }): 'set' | 'clear' | 'show' {
  if (clear && show) throw new UsageError('impair: --clear and --show exclude each other');
  return clear ? 'clear' : show ? 'show' : 'set';
}

class UsageError extends Error {}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`${(error as Error).message}\n\n${HELP}`);
      process.exit(2);
    }
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
