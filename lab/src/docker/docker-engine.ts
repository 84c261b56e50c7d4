import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { findOnPath, runCommand } from '../infra/run-command';

/**
 * Debian's docker.io client (20.10, /usr/bin/docker) has BuildKit built in; a newer client earlier on PATH may lack
 * the buildx plugin it needs to build. So the lab uses /usr/bin/docker when it is there.
 */
export function dockerBinary(): string {
  return existsSync('/usr/bin/docker') ? '/usr/bin/docker' : (findOnPath('docker') ?? 'docker');
}

/**
 * The environment Compose v1 (Debian's docker-compose) needs to build with the engine's BuildKit: /usr/bin first on
 * PATH, so it calls the docker client that has BuildKit, and the two switches that make it build through it.
 */
export function composeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `/usr/bin:${process.env['PATH'] ?? ''}`,
    DOCKER_BUILDKIT: '1',
    COMPOSE_DOCKER_CLI_BUILD: '1',
    ...extra,
  };
}

/** Whether a Docker engine answers `docker info` (within 10 s). */
export function engineAnswers(): boolean {
  const result = spawnSync(dockerBinary(), ['info', '--format', '{{.ServerVersion}}'], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  return result.status === 0;
}

/** The Compose command: Debian's docker-compose (v1), else the docker client's compose plugin (v2), else none. */
export function composeCommand(): string[] | undefined {
  const v1 = findOnPath('docker-compose') ?? (existsSync('/usr/bin/docker-compose') ? '/usr/bin/docker-compose' : '');
  if (v1) return [v1];
  const v2 = spawnSync(dockerBinary(), ['compose', 'version'], { stdio: 'ignore', timeout: 10_000 });
  return v2.status === 0 ? [dockerBinary(), 'compose'] : undefined;
}

/**
 * Starts dockerd when it is installed but not running (root only), detached in its own session so it outlives
 * the caller, and waits for `docker info`. Returns what it did, for one line of output.
 */
export async function ensureEngine(logDir: string, timeoutMs = 60_000): Promise<'running' | 'started'> {
  if (engineAnswers()) return 'running';
  const dockerd = findOnPath('dockerd') ?? (existsSync('/usr/sbin/dockerd') ? '/usr/sbin/dockerd' : undefined);
  if (!dockerd) {
    throw new Error('no Docker engine answers and dockerd is not installed (Debian: apt-get install docker.io)');
  }
  if (process.getuid?.() !== 0) throw new Error(`no Docker engine answers; start it as root: ${dockerd}`);
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, 'dockerd.log'), 'a');
  // overlay2: vfs copies every layer and is slow and disk-hungry.
  const child = spawn(dockerd, ['--storage-driver=overlay2'], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (engineAnswers()) return 'started';
    if (child.exitCode !== null) break;
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new Error(`dockerd did not answer within ${timeoutMs / 1000} s; see ${path.join(logDir, 'dockerd.log')}`);
}

/** Runs the docker client (/usr/bin/docker when there) and resolves with its output. */
export function docker(args: readonly string[], purpose: string): Promise<string> {
  return runCommand(dockerBinary(), args, { purpose, env: composeEnv() });
}
