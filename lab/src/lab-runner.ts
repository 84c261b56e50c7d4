import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBounded, vmStartConcurrency } from './bounded-start';
import { SupervisedProcess } from './infra/child-process.supervisor';
import { type RestartHooks, RestartingProcess } from './infra/restarting-process';
import { isPortFree } from './infra/ports';
import { DEFAULT_INFRA_PORTS, offsetPorts, startInfra, StartedInfra } from './infra';
import { readyOrStopped, waitUntilReady } from './infra/wait-until-ready';
import type { LabDefinition } from './lab-definition';
import { ensureDashboardToken, withDashboardToken, withJaegerQueryPassword } from './dashboard-access';
import { ensureLabIdentity } from './lab-identity';
import { planLab, ProcessSpec } from './lab-plan';
import { ensureJaegerIngestPassword, ensureJaegerQueryPassword, ensureRedisAdminPassword } from './lab-secrets';
import { withTraceRelay } from './trace-relay';
import { ensureServiceTokens, kafkaUsersOf, withKafkaCredentials, withServiceCredentials } from './service-tokens';
import { clearLabState, ComponentEntry, labDataDir, LabState, writeLabState } from './lab-state';
import { probeReady } from './readiness-probe';
import { switchPortsProbe, waitUntilPortsAttached } from './switch-ports-attached';
import { installPrometheus, type PrometheusInstall } from './infra/install-prometheus';
import { startPrometheus } from './infra/prometheus.component';
import { atVmPriority } from './vm-priority';
import { redisShareProgress } from './redis-share';
import { cpuGroupsProgress, inTenantCpuGroup, prepareTenantCpuGroups, type TenantCpuGroups } from './tenant-cpu-groups';
import {
  ensureMetricsScrapeTokens,
  ensurePrometheusWebPassword,
  prometheusConfig,
  PROMETHEUS_PORT,
  scrapeCredentialsFiles,
  localScrapeTargets,
  withMetricsTokenHash,
} from './prometheus-config';

export interface LabOptions {
  repoRoot: string;
  definition: LabDefinition;
  /** Names the data folder `.lab/<profile>` and the state file; the e2e suite uses its own. */
  profile: string;
  portOffset: number;
  /** Every output line of every service and VM, prefixed with its name by the caller (Redis, Kafka and Jaeger: files only). */
  onLine: (processName: string, line: string) => void;
  onProgress: (message: string) => void;
  readyTimeoutMs?: number;
  /** How many tenant VMs start at once (default vmStartConcurrency(): 2 per core, at least 4). */
  vmStartConcurrency?: number;
  /** Also run a Prometheus server (127.0.0.1, port 9090 + offset) scraping every service and VM of the lab. */
  prometheus?: boolean;
  /**
   * Docker mode: aborting it stops the start and removes the containers started (`compose down`), so an interrupted
   * start leaves none running. Local mode's children die with the runner (its supervisor's exit hook).
   */
  interrupt?: AbortSignal;
}

export interface RunningLab {
  state: LabState;
  stop(): Promise<void>;
}

/**
 * Brings up the lab: infrastructure, then the services, then the tenant VMs (which register with the operator),
 * each waited for until its /ready says yes. On any failure everything already started is stopped again. Once the
 * lab is ready it is supervised: a component that exits by itself is started again with backoff while the rest
 * goes on, and the state file counts its restarts for `status`.
 * Redis requires the profile's admin password (`.lab/<profile>/redis-admin-password`), which only the services get.
 */
export async function startLab(options: LabOptions): Promise<RunningLab> {
  const { repoRoot, profile, portOffset, onProgress } = options;
  const dataDir = labDataDir(repoRoot, profile);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const startedAt = Date.now();
  const started: { spec: ProcessSpec; child: SupervisedProcess | RestartingProcess }[] = [];
  let infra: StartedInfra | undefined;
  let prometheus: SupervisedProcess | RestartingProcess | undefined;
  let cpuGroups: TenantCpuGroups | undefined;

  const stop = async (): Promise<void> => {
    await prometheus?.stop(10_000);
    // Reverse start order: VMs deregister while the operator still answers; services flush to Kafka and Jaeger.
    for (const kind of ['vm', 'service', 'relay'] as const) {
      await Promise.all(started.filter((p) => p.spec.kind === kind).map((p) => p.child.stop(10_000)));
    }
    cpuGroups?.remove();
    await infra?.stop();
    clearLabState(repoRoot, profile);
  };

  try {
    // Every process the lab will run, the OTLP relay included; only their ports matter here, so no secret yet.
    const specs = withTraceRelay(planLab(options.definition, repoRoot, placeholderUrls(), portOffset), {
      repoRoot,
      portOffset,
      jaegerOtlpHttp: placeholderUrls().otlpHttp,
      ingestPassword: '',
      vmKey: '',
    });
    await assertServicePortsFree(specs);
    const prometheusPort = PROMETHEUS_PORT + portOffset;
    let prometheusInstall: PrometheusInstall | undefined;
    if (options.prometheus) {
      prometheusInstall = await installPrometheus(onProgress);
      if (!(await isPortFree(prometheusPort))) {
        throw new Error(`Port ${prometheusPort} for Prometheus is already in use by another process.`);
      }
    }
    const tokens = ensureServiceTokens(dataDir);
    const jaegerQueryPassword = ensureJaegerQueryPassword(dataDir);
    const jaegerIngestPassword = ensureJaegerIngestPassword(dataDir);
    // startInfra says "starting Redis, Kafka and Jaeger" itself, once it has checked the installs. Their output goes
    // only to their log files (`logs/<component>.log`): a healthy start is not the screen's business, and a failed
    // one throws with the end of the log; a crash later is a progress line (restartHooks).
    infra = await startInfra({
      dataDir,
      ports: offsetPorts(DEFAULT_INFRA_PORTS, portOffset),
      redisPassword: ensureRedisAdminPassword(dataDir),
      kafkaUsers: kafkaUsersOf(tokens),
      jaegerQueryPassword,
      jaegerIngestPassword,
      onProgress,
    });
    onProgress(`infrastructure ready after ${seconds(startedAt)}`);
    onProgress(redisShareProgress(options.definition));
    const tenants = options.definition.tenants.map((tenant) => tenant.id);
    const metricsTokens = ensureMetricsScrapeTokens(dataDir, tenants);
    const identity = ensureLabIdentity(dataDir, options.definition);
    const credentialed = withJaegerQueryPassword(
      withDashboardToken(
        withKafkaCredentials(
          withServiceCredentials(
            planLab(
              options.definition,
              repoRoot,
              { ...infra.urls, redisAdmin: infra.redisAdminUrl },
              portOffset,
              identity,
            ),
            tokens,
          ),
          tokens,
        ),
        ensureDashboardToken(dataDir),
      ),
      jaegerQueryPassword,
    );
    // Every process checks scrapes of its /metrics against the hash of its job's token (the services', its tenant's);
    // only Prometheus holds the tokens. A VM sees its tenant's token on every scrape, which opens no service and no
    // other tenant's VM.
    const plan = withTraceRelay(withMetricsTokenHash(credentialed, metricsTokens), {
      repoRoot,
      portOffset,
      jaegerOtlpHttp: infra.urls.otlpHttp,
      ingestPassword: jaegerIngestPassword,
      vmKey: identity.vmControlKey,
    });
    const timeoutMs = options.readyTimeoutMs ?? 90_000;
    // Each process's readiness deadline runs from its own start, so a VM waiting its turn is not timed out.
    const startGroup = (group: ProcessSpec[], limit: number): Promise<void> =>
      forEachBounded(group, limit, async (spec) => {
        const child = await startProcess(spec, logDir, options.onLine, false, cpuGroups);
        started.push({ spec, child });
        await waitUntilReady(child, spec.name, () => probeReady(spec.url), timeoutMs);
        onProgress(`${spec.name} ready at ${spec.url} (${seconds(startedAt)})`);
      });
    // The relay first: VMs export to it from their start, and it needs nothing of the services.
    await startGroup(
      plan.filter((s) => s.kind === 'relay'),
      1,
    );
    const services = plan.filter((s) => s.kind === 'service');
    await startGroup(services, Math.max(1, services.length));
    const vms = plan.filter((s) => s.kind === 'vm');
    const vmsPerTenant = new Map<string, number>();
    for (const vm of vms) {
      const tenant = vm.env['TENANT_ID'] ?? '';
      vmsPerTenant.set(tenant, (vmsPerTenant.get(tenant) ?? 0) + 1);
    }
    const groups = vms.length > 0 ? prepareTenantCpuGroups(profile, vmsPerTenant) : undefined;
    if (groups) onProgress(cpuGroupsProgress('processes', groups));
    if (groups && !('unavailable' in groups)) cpuGroups = groups;
    await startGroup(vms, options.vmStartConcurrency ?? vmStartConcurrency());
    if (vms.length > 0) onProgress(`${vms.length} VMs registered (${seconds(startedAt)})`);
    const switchSpec = plan.find((s) => s.name === 'switch');
    if (switchSpec && vms.length > 0) {
      const probe = switchPortsProbe(switchSpec.url, tokens.admin);
      await waitUntilPortsAttached(
        probe,
        vms.map((vm) => vm.name),
        timeoutMs,
      );
      onProgress(`switch attached ${vms.length} ports (${seconds(startedAt)})`);
    }
    let startPrometheusAgain: (() => Promise<SupervisedProcess>) | undefined;
    if (prometheusInstall) {
      const targets = localScrapeTargets(plan);
      const credentialsFiles = scrapeCredentialsFiles(join(dataDir, 'prometheus'), tenants);
      const webPassword = ensurePrometheusWebPassword(dataDir, tenants);
      const binary = prometheusInstall.prometheus;
      const run = (restarting: boolean): Promise<SupervisedProcess> =>
        startPrometheus({
          binary,
          dataDir,
          port: prometheusPort,
          config: prometheusConfig(targets, credentialsFiles),
          credentialsFiles,
          tokens: metricsTokens,
          webPassword,
          restarting,
        });
      prometheus = await run(false);
      startPrometheusAgain = () => run(true);
      onProgress(`prometheus ready at http://127.0.0.1:${prometheusPort} (${seconds(startedAt)})`);
    }

    const state: LabState = {
      profile,
      runnerPid: process.pid,
      portOffset,
      startedAt: new Date(startedAt).toISOString(),
      readyAt: new Date().toISOString(),
      // URLs only, never credentials: `status` shows them, and the file is readable by anyone who can read the repo.
      components: [
        { name: 'redis', kind: 'infra', url: infra.urls.redis, pid: infra.pids.redis },
        { name: 'kafka', kind: 'infra', url: infra.urls.kafkaBrokers, pid: infra.pids.kafka },
        { name: 'jaeger', kind: 'infra', url: infra.urls.jaegerQuery, pid: infra.pids.jaeger },
        ...(prometheus
          ? [
              {
                name: 'prometheus',
                kind: 'infra' as const,
                url: `http://127.0.0.1:${prometheusPort}`,
                pid: prometheus.pid,
              },
            ]
          : []),
        ...started.map(({ spec, child }): ComponentEntry => ({
          name: spec.name,
          kind: spec.kind,
          url: spec.url,
          pid: child.pid,
        })),
      ],
    };
    writeLabState(repoRoot, state);
    const hooks = restartHooks(repoRoot, state, onProgress);
    infra.supervise(hooks);
    if (prometheus instanceof SupervisedProcess && startPrometheusAgain) {
      const again = startPrometheusAgain;
      prometheus = new RestartingProcess('prometheus', prometheus, again, hooks);
    }
    for (const entry of started) {
      const { spec } = entry;
      const startAgain = async (): Promise<SupervisedProcess> => {
        const child = await startProcess(spec, logDir, options.onLine, true, cpuGroups);
        await readyOrStopped(child, spec.name, () => probeReady(spec.url), timeoutMs);
        return child;
      };
      entry.child = new RestartingProcess(spec.name, entry.child as SupervisedProcess, startAgain, hooks);
    }
    return { state, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

// Services learn the infrastructure URLs only once it runs; ports are checked before that, so any URL will do.
function placeholderUrls(): Parameters<typeof planLab>[2] {
  return {
    redis: 'redis://127.0.0.1:1',
    redisAdmin: 'redis://127.0.0.1:1',
    kafkaBrokers: '127.0.0.1:1',
    otlpHttp: 'http://127.0.0.1:1',
    jaegerQuery: '',
  };
}

async function assertServicePortsFree(specs: ProcessSpec[]): Promise<void> {
  for (const spec of specs) {
    if (!(await isPortFree(spec.port))) {
      throw new Error(
        `Port ${spec.port} for ${spec.name} is already in use by another process. ` +
          'Stop it (is another lab running? `npm run lab -- down`) or start the lab with --port-offset N.',
      );
    }
  }
}

/**
 * What a restart changes in the lab: a line for the person watching, and the component's pid and restart count in
 * the state file, which `status` reads from another terminal.
 */
function restartHooks(repoRoot: string, state: LabState, onProgress: (message: string) => void): RestartHooks {
  return {
    onCrash: (name, exit, delayMs) =>
      onProgress(`${name} ${exit}; starting it again in ${(delayMs / 1000).toFixed(1)} s`),
    onRestarted: (name, pid, restarts) => {
      const entry = state.components.find((component) => component.name === name);
      if (entry) Object.assign(entry, { pid, restarts });
      writeLabState(repoRoot, state);
      onProgress(`${name} is running again (pid ${pid}, restart ${restarts})`);
    },
    onGaveUp: (name, reason) => onProgress(`${name} ${reason}; the rest of the lab goes on (see its log)`),
  };
}

function startProcess(
  spec: ProcessSpec,
  logDir: string,
  onLine: LabOptions['onLine'],
  appendLog = false,
  cpuGroups?: TenantCpuGroups,
): Promise<SupervisedProcess> {
  const node = {
    command: process.execPath,
    args: spec.script ? [spec.script] : ['--require', './dist/instrumentation.js', 'dist/main.js'],
  };
  // Tenant VMs below the shared services (see vm-priority.ts), each in its tenant's CPU group when there are groups;
  // the OTLP relay too (in no tenant's group): it works only for VMs, so a VM flooding it takes no service's CPU.
  let { command, args } = spec.kind === 'service' ? node : atVmPriority(node.command, node.args);
  const procsFile = spec.kind === 'vm' ? cpuGroups?.procsFile(spec.env['TENANT_ID'] ?? '') : undefined;
  if (procsFile !== undefined) ({ command, args } = inTenantCpuGroup(procsFile, command, args));
  return SupervisedProcess.start({
    component: spec.name,
    command,
    args,
    cwd: spec.serviceDir,
    // PATH and HOME only: a service must not pick up stray variables from the user's shell.
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...spec.env },
    logFile: join(logDir, `${spec.name}.log`),
    appendLog,
    onLine: (line) => onLine(spec.name, line),
  });
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
