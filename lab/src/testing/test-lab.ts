import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from 'testcontainers';
import { composeProject, renderComposeFile } from '../docker/compose-file';
import { composeCommand, dockerBinary } from '../docker/docker-engine';
import { removeDockerTenantCpuGroups } from '../docker/docker-cpu-groups';
import { composeProjectName, dockerComponents, labComposeEnv, listContainers, runCompose } from '../docker/docker-lab';
import { chooseMode } from '../docker/lab-mode';
import { readLabDefinition } from '../lab-definition';
import { withToolUrls } from '../lab-identity';
import { readAdminToken } from '../service-tokens';
import { clearLabState, labDataDir, LabState, readLabState, writeLabState } from '../lab-state';
import { LabClients, labClients } from './lab-clients';

export interface TestLabOptions {
  /** The repository root (where labs/, lab/dist/ and .lab/ are). */
  repoRoot: string;
  /** Lab file, relative to repoRoot (default labs/default.json). */
  labFile?: string;
  /** docker: in containers (fails without an engine or images); local: processes; auto (default): docker if it can. */
  mode?: 'auto' | 'docker' | 'local';
  /** Names the compose project and .lab/<profile>; give each suite its own. */
  profile: string;
  /** Every host port moves by this much, so the lab runs beside others. */
  portOffset: number;
  startupTimeoutMs?: number;
  /** Local mode: false runs `lab up` without --quiet, so `runner.output` has the merged log too (default true). */
  quiet?: boolean;
  /** Local mode: also run the lab's Prometheus (`lab up --prometheus`). */
  prometheus?: boolean;
}

export interface TestLab extends AsyncDisposable {
  mode: 'docker' | 'local';
  state: LabState;
  clients: LabClients;
  /** Docker mode: the compose project's containers by service name (VM id, `operator`, `redis`...). */
  containerId(name: string): Promise<string>;
  /** Stops everything it started: containers, networks and volumes, or the processes. */
  stop(): Promise<void>;
  /** Local mode: the `lab up` process it runs, for tests of the CLI (its exit code, its output so far). */
  runner?: { pid: number; exited: Promise<number | null>; output: string[] };
}

/**
 * Starts a whole lab for a test: in containers with Testcontainers' Compose environment (waiting on every
 * container's health check), or as local processes through the lab CLI when there is no engine. Use with
 * `await using lab = await startTestLab(...)`, or call stop(). Testcontainers' reaper (Ryuk) is not used: stop()
 * removes what was started.
 */
export async function startTestLab(options: TestLabOptions): Promise<TestLab> {
  const labFile = path.resolve(options.repoRoot, options.labFile ?? 'labs/default.json');
  const definition = readLabDefinition(labFile);
  const choice = await chooseMode(options.mode ?? 'auto');
  if (choice.problem) throw new Error(`cannot start a Docker lab: ${choice.problem}`);
  return choice.mode === 'docker' ? startInContainers(options, definition) : startAsProcesses(options, labFile);
}

async function startInContainers(
  options: TestLabOptions,
  definition: ReturnType<typeof readLabDefinition>,
): Promise<TestLab> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  // Ports are published on 127.0.0.1; inside a container Testcontainers would guess the bridge gateway instead.
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
  const dataDir = labDataDir(options.repoRoot, options.profile);
  mkdirSync(dataDir, { recursive: true });
  const composeFile = 'docker-compose.yml';
  writeFileSync(path.join(dataDir, composeFile), renderComposeFile(composeProject(definition, options.portOffset)));
  const startedAt = new Date().toISOString();
  let environment: StartedDockerComposeEnvironment | undefined;
  try {
    // Debian's Compose v1 (docker-compose) when it is there; else the docker client's compose plugin.
    const [command = 'docker', ...rest] = composeCommand() ?? [];
    const executable = rest.length === 0 ? { standalone: true as const, executablePath: command } : undefined;
    environment = await new DockerComposeEnvironment(dataDir, composeFile)
      .withProjectName(composeProjectName(options.profile))
      .withClientOptions(executable ? { executable } : {})
      .withEnvironment(labComposeEnv(dataDir, options.profile, definition))
      .withDefaultWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(options.startupTimeoutMs ?? 300_000)
      .up();
  } catch (error) {
    // Remove whatever the project created before it failed.
    await runCompose(options.repoRoot, options.profile, ['down', '--volumes', '--remove-orphans'], 'clean up').catch(
      () => undefined,
    );
    throw error;
  }
  const containers = await listContainers(options.profile);
  const state: LabState = {
    profile: options.profile,
    runnerPid: process.pid,
    portOffset: options.portOffset,
    mode: 'docker',
    startedAt,
    readyAt: new Date().toISOString(),
    components: dockerComponents({ definition, portOffset: options.portOffset }).map((c) => ({
      ...c,
      pid: containers.get(c.name)?.pid ?? 0,
    })),
  };
  writeLabState(options.repoRoot, state);
  const started = environment;
  const stop = async (): Promise<void> => {
    // Keep each container's log where local mode keeps its processes' logs, to see afterwards why a test failed.
    const logDir = path.join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    for (const [name, container] of await listContainers(options.profile)) {
      const logs = spawnSync(dockerBinary(), ['logs', container.id], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      writeFileSync(path.join(logDir, `${name}.log`), `${logs.stdout}${logs.stderr}`);
    }
    await started.down({ removeVolumes: true, timeout: 10_000 });
    removeDockerTenantCpuGroups(options.profile);
    clearLabState(options.repoRoot, options.profile);
  };
  // Tests drive VMs through their control URLs; the state file keeps the plain ones.
  const driven = withToolUrls(state, labDataDir(options.repoRoot, options.profile));
  return {
    mode: 'docker',
    state: driven,
    clients: labClients(driven, readAdminToken(labDataDir(options.repoRoot, options.profile))),
    containerId: async (name) => {
      const container = (await listContainers(options.profile)).get(name);
      if (!container) throw new Error(`no container for ${name} in ${composeProjectName(options.profile)}`);
      return container.id;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function startAsProcesses(options: TestLabOptions, labFile: string): Promise<TestLab> {
  const cli = path.join(options.repoRoot, 'lab', 'dist', 'cli.js');
  const quiet = options.quiet === false ? [] : ['--quiet'];
  const args = ['up', '--mode', 'local', ...quiet, '--lab', labFile, '--profile', options.profile];
  if (options.prometheus) args.push('--prometheus');
  const child: ChildProcess = spawn(process.execPath, [cli, ...args, '--port-offset', String(options.portOffset)], {
    cwd: options.repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const deadline = Date.now() + (options.startupTimeoutMs ?? 300_000);
  let state: LabState | undefined;
  while (!state) {
    if (child.exitCode !== null) throw new Error(`lab up exited with ${child.exitCode}:\n${output.join('')}`);
    if (Date.now() > deadline) {
      child.kill('SIGINT');
      await exited;
      throw new Error(`lab not ready in time:\n${output.join('')}`);
    }
    const written = readLabState(options.repoRoot, options.profile);
    if (written?.readyAt && written.runnerPid === child.pid) state = written;
    else await new Promise((done) => setTimeout(done, 250));
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await exited;
    }
  };
  // Tests drive VMs through their control URLs; the state file keeps the plain ones.
  const driven = withToolUrls(state, labDataDir(options.repoRoot, options.profile));
  return {
    mode: 'local',
    state: driven,
    clients: labClients(driven, readAdminToken(labDataDir(options.repoRoot, options.profile))),
    runner: { pid: child.pid ?? 0, exited, output },
    containerId: () => Promise.reject(new Error('a local lab has no containers')),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
