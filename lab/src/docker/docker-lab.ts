import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { metricsTokenSha256, SERVICE_PORTS, VM_BASE_PORT } from '@tenantlab/shared';
import { DEFAULT_INFRA_PORTS, offsetPorts } from '../infra/ports';
import { runCommand } from '../infra/run-command';
import type { LabOptions, RunningLab } from '../lab-runner';
import type { LabDefinition } from '../lab-definition';
import { ensureLabIdentity, labTenantsEnv, vmControlTokenHash } from '../lab-identity';
import { ensureServiceTokens } from '../service-tokens';
import { switchPortsProbe, waitUntilPortsAttached } from '../switch-ports-attached';
import { ensureMetricsScrapeTokens, ensurePrometheusWebPassword, PROMETHEUS_PORT } from '../prometheus-config';
import { redisShareProgress } from '../redis-share';
import { cpuGroupsProgress, tenantCpuGroupPath } from '../tenant-cpu-groups';
import { clearLabState, ComponentEntry, labDataDir, LabState, writeLabState } from '../lab-state';
import {
  composeProject,
  renderComposeFile,
  vmControlTokenHashVariable,
  vmMetricsTokenHashVariable,
} from './compose-file';
import { containerSecretsEnv, writeContainerSecrets } from './container-secrets';
import { dockerScrapeTargets, withPrometheus, writeDockerPrometheusFiles } from './prometheus-service';
import { composeCommand, composeEnv, dockerBinary } from './docker-engine';
import { type DockerCpuGroups, prepareDockerTenantCpuGroups, removeDockerTenantCpuGroups } from './docker-cpu-groups';

/** The Compose project name of a profile's Docker lab: containers, networks and volumes all carry it. */
export function composeProjectName(profile: string): string {
  return `tenantlab-${profile}`;
}

/** Where `up --mode docker` writes the profile's generated compose file. */
export function composeFileOf(repoRoot: string, profile: string): string {
  return path.join(labDataDir(repoRoot, profile), 'docker-compose.yml');
}

/**
 * Runs Compose on a profile's project, with the directory of the profile's secret files and their group in its
 * environment, and for `up` LAB_TENANTS (the compose file names them as `${...}`); for `up` it writes the files first.
 * After `down` it removes the lab's tenant CPU groups (the containers in them are gone).
 */
export async function runCompose(
  repoRoot: string,
  profile: string,
  args: readonly string[],
  purpose: string,
  /** The lab file, when Compose creates containers (`up`): their tenants' secrets and LAB_TENANTS come from it. */
  definition?: LabDefinition,
  /** Ends Compose when aborted (an interrupted start). */
  signal?: AbortSignal,
): Promise<string> {
  const compose = composeCommand();
  if (!compose) throw new Error('no Compose: install docker-compose (Debian) or the docker compose plugin');
  const [command = 'docker-compose', ...prefix] = compose;
  const output = await runCommand(command, [...prefix, ...projectArgs(repoRoot, profile), ...args], {
    cwd: repoRoot,
    purpose,
    env: composeEnv(labComposeEnv(labDataDir(repoRoot, profile), profile, definition)),
    ...(signal ? { signal } : {}),
  });
  if (args[0] === 'down') removeDockerTenantCpuGroups(profile);
  return output;
}

/**
 * The variables the compose file requires (`${VAR:?...}`): where the profile's secret files are and the group that
 * may read them, LAB_TENANTS (the tenants' secrets' hashes) and the hashes of the metrics scrape tokens (services'
 * METRICS_TOKEN_SHA256, each tenant's VMs' vmMetricsTokenHashVariable(tenant)) and of each VM's control token
 * (vmControlTokenHashVariable(vm)); never a secret. With the lab
 * file (Compose creates containers) it first writes the secret files (writeContainerSecrets) and makes the tenants'
 * CPU groups, naming each tenant's as its VMs' cgroup parent (vmCpuGroupVariable; unset where groups cannot be made,
 * see dockerCpuGroupsUnavailable). Compose interpolates the whole file for every command, `down` too: without the lab
 * file no file is written, LAB_TENANTS (read only when containers are created) is empty and the tenants' hashes and
 * groups are unset (empty).
 */
export function labComposeEnv(
  dataDir: string,
  profile: string,
  definition?: LabDefinition,
  prepareCpuGroups: (profile: string, definition: LabDefinition) => DockerCpuGroups = prepareDockerTenantCpuGroups,
): Record<string, string> {
  const scrapeTokens = ensureMetricsScrapeTokens(dataDir, definition?.tenants.map((tenant) => tenant.id) ?? []);
  const cpuGroups = definition ? prepareCpuGroups(profile, definition) : undefined;
  const identity = definition ? ensureLabIdentity(dataDir, definition) : undefined;
  return {
    ...(cpuGroups && 'env' in cpuGroups ? cpuGroups.env : {}),
    ...(definition ? writeContainerSecrets(dataDir, definition) : containerSecretsEnv(dataDir)),
    LAB_TENANTS: definition && identity ? labTenantsEnv(definition, identity) : '[]',
    ...(definition && identity
      ? Object.fromEntries(
          definition.tenants
            .flatMap((tenant) => tenant.vms)
            .map((vm) => [vmControlTokenHashVariable(vm), vmControlTokenHash(identity, vm)]),
        )
      : {}),
    METRICS_TOKEN_SHA256: metricsTokenSha256(scrapeTokens.service),
    ...Object.fromEntries(
      Object.entries(scrapeTokens.tenants).map(([tenant, token]) => [
        vmMetricsTokenHashVariable(tenant),
        metricsTokenSha256(token),
      ]),
    ),
  };
}

function projectArgs(repoRoot: string, profile: string): string[] {
  // The project directory is the repository: its .env gives image names and settings; runCompose the secret files.
  return ['-p', composeProjectName(profile), '-f', composeFileOf(repoRoot, profile), '--project-directory', repoRoot];
}

const INSPECT_CHUNK = 32;

export type LabContainer = { id: string; running: boolean; health: string; pid: number; restarts: number };

/**
 * The lab's containers, by Compose service name: id, running, health. Compose may remove a container between the
 * listing and the inspection (it recreates one whose configuration changed): then the listing is taken again.
 */
export async function listContainers(profile: string, attempts = 3): Promise<Map<string, LabContainer>> {
  const ids = (
    await runCommand(
      dockerBinary(),
      ['ps', '-aq', '--filter', `label=com.docker.compose.project=${composeProjectName(profile)}`],
      { purpose: 'list the lab containers' },
    )
  )
    .split('\n')
    .filter(Boolean);
  const found = new Map<string, LabContainer>();
  if (ids.length === 0) return found;
  let lines = '';
  try {
    // `index .State "Health"` rather than `.State.Health`: a container without a health check (or just created) has
    // no Health key, which Docker 20.10's template refuses to read; `index` gives nothing instead. (Not `json .State`:
    // its health log makes the output longer than runCommand keeps.)
    // In chunks: runCommand keeps the last 8 KiB of output, about 60 of these lines, and a lab may have more VMs.
    for (let start = 0; start < ids.length; start += INSPECT_CHUNK) {
      lines += await runCommand(
        dockerBinary(),
        ['inspect', '--format', CONTAINER_INSPECT_FORMAT, ...ids.slice(start, start + INSPECT_CHUNK)],
        { purpose: 'inspect the lab containers' },
      );
    }
  } catch (error) {
    if (attempts > 1 && error instanceof Error && /No such object/i.test(error.message)) {
      return listContainers(profile, attempts - 1);
    }
    throw error;
  }
  return parseContainerLines(lines);
}

/**
 * What listContainers asks `docker inspect` for, one line per container: Compose service, id, running, health, pid
 * and the engine's restart count (`restart: unless-stopped` restarts a container that exits, and counts it).
 */
export const CONTAINER_INSPECT_FORMAT =
  '{{ index .Config.Labels "com.docker.compose.service" }} {{ .Id }} {{ .State.Running }} ' +
  '{{ with index .State "Health" }}{{ index . "Status" }}{{ else }}none{{ end }} {{ .State.Pid }} {{ .RestartCount }}';

/** The containers in `docker inspect --format CONTAINER_INSPECT_FORMAT` output, by Compose service name. */
export function parseContainerLines(lines: string): Map<string, LabContainer> {
  const found = new Map<string, LabContainer>();
  for (const line of lines.split('\n').filter(Boolean)) {
    const [service = '', id = '', running, health = 'none', pid, restarts] = line.trim().split(' ');
    found.set(service, { id, running: running === 'true', health, pid: Number(pid), restarts: Number(restarts ?? 0) });
  }
  return found;
}

/** Memory in use per container id (`docker stats --no-stream`), in bytes. */
export async function containerMemory(ids: string[]): Promise<Map<string, number>> {
  const memory = new Map<string, number>();
  if (ids.length === 0) return memory;
  const output = await runCommand(
    dockerBinary(),
    ['stats', '--no-stream', '--no-trunc', '--format', '{{ .ID }} {{ .MemUsage }}', ...ids],
    { purpose: 'read the containers memory' },
  ).catch(() => '');
  for (const line of output.split('\n').filter(Boolean)) {
    const [id = '', usage = ''] = line.split(' ');
    memory.set(id, parseSize(usage));
  }
  return memory;
}

function parseSize(text: string): number {
  const match = /^([\d.]+)([KMG]i?B|B)$/.exec(text);
  if (!match) return 0;
  const units: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, kB: 1e3, MB: 1e6, GB: 1e9 };
  return Number(match[1]) * (units[match[2] ?? 'B'] ?? 1);
}

/**
 * The components of a Docker lab as the state file records them: the same names and URLs as local mode (Prometheus
 * only with `prometheus`).
 */
export function dockerComponents(
  options: Pick<LabOptions, 'definition' | 'portOffset'> & { prometheus?: boolean },
): ComponentEntry[] {
  const ports = offsetPorts(DEFAULT_INFRA_PORTS, options.portOffset);
  const http = (port: number): string => `http://127.0.0.1:${port}`;
  const vms = options.definition.tenants.flatMap((tenant) => tenant.vms);
  return [
    { name: 'redis', kind: 'infra', url: `redis://127.0.0.1:${ports.redis}`, pid: 0 },
    { name: 'kafka', kind: 'infra', url: `127.0.0.1:${ports.kafka}`, pid: 0 },
    { name: 'jaeger', kind: 'infra', url: http(ports.jaegerQuery), pid: 0 },
    ...(options.prometheus
      ? [{ name: 'prometheus', kind: 'infra' as const, url: http(PROMETHEUS_PORT + options.portOffset), pid: 0 }]
      : []),
    ...(['operator', 'switch', 'allocator', 'telemetry'] as const).map((name): ComponentEntry => ({
      name,
      kind: 'service',
      url: http(SERVICE_PORTS[name] + options.portOffset),
      pid: 0,
    })),
    ...vms.map((vm, index): ComponentEntry => ({
      name: vm,
      kind: 'vm',
      url: http(VM_BASE_PORT + 1 + index + options.portOffset),
      pid: 0,
    })),
  ];
}

/**
 * Brings up the lab in containers: generates the compose project from the lab file (with a Prometheus container
 * scraping every service and VM when `options.prometheus`), starts it (images must exist: `npm run lab -- images`),
 * reports each container as it becomes healthy, and follows every container's log into `.lab/<profile>/logs/` and
 * `onLine`. stop() removes the containers, networks and volumes.
 */
export async function startDockerLab(options: LabOptions): Promise<RunningLab> {
  const { repoRoot, profile, onProgress } = options;
  const dataDir = labDataDir(repoRoot, profile);
  const logDir = path.join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const startedAt = Date.now();
  const components = dockerComponents(options);
  let project = composeProject(options.definition, options.portOffset);
  if (options.prometheus) {
    const tenants = options.definition.tenants.map((tenant) => tenant.id);
    const targets = dockerScrapeTargets(project, components);
    const webPassword = ensurePrometheusWebPassword(dataDir, tenants);
    const configDir = writeDockerPrometheusFiles(dataDir, targets, webPassword, tenants);
    project = withPrometheus(project, { portOffset: options.portOffset, configDir, dataDir, tenants });
  }
  writeFileSync(composeFileOf(repoRoot, profile), renderComposeFile(project));
  const followers: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const follower of followers) follower.kill('SIGTERM');
    await saveContainerLogs(profile, logDir);
    await runCompose(repoRoot, profile, ['down', '--volumes', '--remove-orphans', '--timeout', '10'], 'stop the lab');
    clearLabState(repoRoot, profile);
  };
  try {
    onProgress(`starting ${components.length} containers (compose project ${composeProjectName(profile)})`);
    // What making the groups came to (runCompose makes them again for `up`, idempotently, and names them to Compose).
    const cpuGroups = prepareDockerTenantCpuGroups(profile, options.definition);
    onProgress(
      cpuGroupsProgress(
        'containers',
        'env' in cpuGroups ? { dir: tenantCpuGroupPath(profile, undefined, 'docker') } : cpuGroups,
      ),
    );
    // Compose takes REDIS_MAXMEMORY from the environment (or .env, not read here), as the compose file's default says.
    onProgress(redisShareProgress(options.definition, process.env['REDIS_MAXMEMORY'] || undefined, 'REDIS_MAXMEMORY'));
    const up = runCompose(
      repoRoot,
      profile,
      ['up', '--detach', '--no-build', '--remove-orphans'],
      'start the lab',
      options.definition,
      options.interrupt,
    );
    let upError: Error | undefined;
    up.catch((error: unknown) => (upError = error instanceof Error ? error : new Error(String(error))));
    const healthy = new Set<string>();
    const deadline = Date.now() + (options.readyTimeoutMs ?? 300_000);
    while (healthy.size < components.length) {
      throwIfInterrupted(options.interrupt);
      if (upError) throw upError;
      if (Date.now() > deadline) {
        const waiting = components.filter((c) => !healthy.has(c.name)).map((c) => c.name);
        throw new Error(`not healthy within ${(options.readyTimeoutMs ?? 300_000) / 1000} s: ${waiting.join(', ')}`);
      }
      const containers = await listContainers(profile);
      for (const component of components) {
        const container = containers.get(component.name);
        if (!healthy.has(component.name) && container?.health === 'healthy') {
          healthy.add(component.name);
          onProgress(`${component.name} healthy at ${component.url} (${seconds(startedAt)})`);
          followers.push(followLog(container.id, component.name, logDir, options.onLine));
        }
      }
      await pauseUnlessInterrupted(1000, options.interrupt);
    }
    await up;
    throwIfInterrupted(options.interrupt);
    const vms = components.filter((c) => c.kind === 'vm');
    const switchUrl = components.find((c) => c.name === 'switch')?.url;
    if (switchUrl && vms.length > 0) {
      const probe = switchPortsProbe(switchUrl, ensureServiceTokens(dataDir).admin);
      await waitUntilPortsAttached(
        probe,
        vms.map((vm) => vm.name),
        Math.max(deadline - Date.now(), 10_000),
      );
      onProgress(`switch attached ${vms.length} ports (${seconds(startedAt)})`);
    }
    throwIfInterrupted(options.interrupt);
    const containers = await listContainers(profile);
    const state: LabState = {
      profile,
      runnerPid: process.pid,
      portOffset: options.portOffset,
      mode: 'docker',
      startedAt: new Date(startedAt).toISOString(),
      readyAt: new Date().toISOString(),
      components: components.map((c) => ({ ...c, pid: containers.get(c.name)?.pid ?? 0 })),
    };
    writeLabState(repoRoot, state);
    // Docker restarts a container that exits (restart: unless-stopped): no single exit ends a Docker lab.
    return { state, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** Stops a start that was interrupted (Ctrl-C): the caller's catch then removes what was started. */
function throwIfInterrupted(interrupt: AbortSignal | undefined): void {
  if (interrupt?.aborted) throw new Error('interrupted while starting: the containers started are removed');
}

function pauseUnlessInterrupted(ms: number, interrupt: AbortSignal | undefined): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      interrupt?.removeEventListener('abort', finish);
      done();
    }
    interrupt?.addEventListener('abort', finish, { once: true });
  });
}

/**
 * Saves the whole log of every container of the profile's lab (`docker logs`: all a container printed, across the
 * engine's restarts of it) as `<logDir>/<service>.log`, infrastructure (Redis, Kafka, Jaeger, Prometheus) and the
 * one-shot kafka-setup included. Called before `compose down`, which deletes the containers and their logs: the
 * followers see only containers that became healthy, and stop at a container's first exit. Each file is written
 * aside and renamed over the follower's, so a follower's last writes cannot interleave. Returns the services saved.
 */
export async function saveContainerLogs(profile: string, logDir: string): Promise<string[]> {
  const containers = await listContainers(profile).catch(() => new Map<string, LabContainer>());
  mkdirSync(logDir, { recursive: true });
  const saved: string[] = [];
  for (const [service, container] of containers) {
    if (!service) continue;
    const file = path.join(logDir, `${service}.log`);
    const fd = openSync(`${file}.saving`, 'w');
    const code = await new Promise<number | null>((done) => {
      const child = spawn(dockerBinary(), ['logs', container.id], { stdio: ['ignore', fd, fd] });
      child.once('error', () => done(null));
      child.once('exit', done);
    }).finally(() => closeSync(fd));
    if (code !== 0) continue;
    renameSync(`${file}.saving`, file);
    saved.push(service);
  }
  return saved;
}

function followLog(id: string, name: string, logDir: string, onLine: LabOptions['onLine']): ChildProcess {
  const child = spawn(dockerBinary(), ['logs', '--follow', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  const file = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      file.write(`${line}\n`);
      onLine(name, line);
    });
  }
  child.once('exit', () => file.end());
  return child;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
