import { existsSync } from 'node:fs';

import { InfraInstallError } from './infra.errors';
import { withInstallLock } from './install-lock';
import { type RunCommandOptions, findOnPath, runCommand } from './run-command';

const MIN_REDIS_MAJOR = 7;

/** Makes sure a Redis 7+ `redis-server` is on PATH, installing the Debian package if it is missing. */
export async function installRedis(onProgress?: (message: string) => void): Promise<string> {
  const binary =
    findOnPath('redis-server') ?? (await withInstallLock('redis', () => aptInstallRedis(onProgress), onProgress));
  await assertRedisVersion(binary);
  return binary;
}

async function assertRedisVersion(binary: string): Promise<void> {
  const output = await runCommand(binary, ['--version'], { purpose: 'read the Redis version' });
  const version = /v=(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!version || Number(version[1]) < MIN_REDIS_MAJOR) {
    throw new InfraInstallError(
      `${binary} is Redis ${version ? version.slice(1).join('.') : '(unknown version)'}; the lab needs Redis ` +
        `${MIN_REDIS_MAJOR} or newer. Install a newer redis-server or put one first on PATH.`,
    );
  }
}

async function aptInstallRedis(onProgress?: (message: string) => void): Promise<string> {
  // Another process may have installed it while this one waited for the lock.
  const existing = findOnPath('redis-server');
  if (existing) return existing;
  if (!findOnPath('apt-get')) {
    throw new InfraInstallError('redis-server is not on PATH and there is no apt-get to install it. Install Redis 7+.');
  }
  const sudo = rootPrefix('install redis-server');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const purpose = 'install redis-server with apt-get';
  const started = Date.now();
  onProgress?.('installing Redis (apt-get install redis-server, first time only)…');
  try {
    await runAsRoot(sudo, ['apt-get', 'update'], { env, purpose });
    await runAsRoot(sudo, ['apt-get', 'install', '-y', 'redis-server'], { env, purpose });
  } catch (error) {
    if (!sudo.length) throw error;
    // Usually sudo wanting a password it cannot ask for.
    const reason = error instanceof Error ? error.message : String(error);
    throw new InfraInstallError(`${reason}\nRun \`sudo apt-get install -y redis-server\` yourself, then retry.`, {
      cause: error,
    });
  }
  await stopPackagedService(sudo, onProgress);
  const binary = findOnPath('redis-server');
  if (!binary) {
    throw new InfraInstallError(
      'apt-get installed redis-server, but redis-server is not on PATH. Add /usr/bin to PATH.',
    );
  }
  onProgress?.(`installed Redis in ${Math.round((Date.now() - started) / 1000)}s`);
  return binary;
}

function runAsRoot(sudo: string[], command: string[], options: RunCommandOptions): Promise<string> {
  const [program, ...args] = [...sudo, ...command];
  return runCommand(program, args, options);
}

/**
 * The command prefix that runs a command as root: nothing when we are root, `sudo -n` otherwise. `-n` because
 * the child has no terminal to ask for a password on; the message tells the user to run the step themselves.
 */
function rootPrefix(what: string): string[] {
  if (process.getuid?.() === 0) return [];
  if (findOnPath('sudo')) return ['sudo', '-n'];
  throw new InfraInstallError(
    `Need root to ${what}, and sudo is not available. Run \`apt-get install -y redis-server\` as root, then retry.`,
  );
}

/**
 * Debian's package starts redis-server as a system service on 6379 and enables it at boot (unless policy-rc.d
 * forbids it, as in containers). The lab runs its own Redis per profile, so a packaged one would only take the
 * default port. We stop and disable it only right after we installed the package ourselves, never one the
 * machine already had.
 */
async function stopPackagedService(sudo: string[], onProgress?: (message: string) => void): Promise<void> {
  const command = existsSync('/run/systemd/system')
    ? ['systemctl', 'disable', '--now', 'redis-server']
    : ['service', 'redis-server', 'stop'];
  try {
    await runAsRoot(sudo, command, { purpose: 'stop the redis-server service the Debian package started' });
  } catch (error) {
    onProgress?.(`note: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}
