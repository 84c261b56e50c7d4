import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { redisLimitArgs } from '@tenantlab/shared';

import { SupervisedProcess } from './child-process.supervisor';
import { InfraStartError } from './infra.errors';
import { infraLogFile, type InfraOptions } from './infra.options';
import { probeRedis } from './readiness-probes';
import { readyOrStopped } from './wait-until-ready';

const READY_TIMEOUT_MS = 15_000;

/**
 * Runs redis-server in the foreground on loopback, without persistence: lab state starts empty on every run. With the
 * limits every mode has (redisLimitArgs): maxmemory (InfraOptions.redisMaxMemory), noeviction, proto-max-bulk-len.
 */
export async function startRedis(redisServer: string, options: InfraOptions): Promise<SupervisedProcess> {
  const dir = path.join(options.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const port = options.ports.redis;
  const child = await SupervisedProcess.start({
    component: 'redis',
    command: redisServer,
    // Redis 7 quotes each argument when it turns argv into config, so the empty string reaches `save` intact.
    args: [
      ...(await writePasswordConfig(dir, options.redisPassword)),
      ...['--port', `${port}`, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      ...redisLimitArgs(options.redisMaxMemory),
    ],
    cwd: dir,
    logFile: await infraLogFile(options.dataDir, 'redis'),
    appendLog: options.restarting,
    onLine: (line) => options.onLine?.('redis', line),
  });
  return readyOrStopped(
    child,
    `Redis on port ${port}`,
    () => probeRedis(port, options.redisPassword),
    READY_TIMEOUT_MS,
  );
}

/**
 * The password goes in a config file only its owner can read, not on the command line: any user on the machine can
 * read a process's argv (`ps`, /proc/<pid>/cmdline) until Redis overwrites its process title. Returns the leading
 * redis-server arguments: the file's path, or none without a password.
 */
async function writePasswordConfig(dir: string, password: string | undefined): Promise<string[]> {
  const file = path.join(dir, 'auth.conf');
  if (!password) {
    // A file from an earlier run with a password must not lock out a run without one, nor keep that password around.
    await rm(file, { force: true });
    return [];
  }
  // Printable ASCII only: Redis would read a newline as the end of the directive.
  if (!/^[!-~]+$/.test(password)) {
    throw new InfraStartError('The Redis password must be printable ASCII without spaces (the lab uses hex).');
  }
  // Double-quoted, the way Redis's config parser reads a value with quotes or backslashes in it.
  await writeFile(file, `requirepass "${password.replace(/["\\]/g, '\\$&')}"\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file.
  await chmod(file, 0o600);
  return [file];
}
