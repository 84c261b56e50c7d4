import { existsSync } from 'node:fs';
import { InfraInstallError } from './infra.errors';
import { withInstallLock } from './install-lock';
import { findOnPath, runCommand } from './run-command';

/** Where Debian's `prometheus` package (bookworm: 2.42) puts the server and promtool. */
export interface PrometheusInstall {
  prometheus: string;
  promtool: string;
}

const APT_LOCK = '/tmp/apt.lock';

function installed(): PrometheusInstall | undefined {
  const prometheus = findOnPath('prometheus');
  const promtool = findOnPath('promtool');
  return prometheus && promtool ? { prometheus, promtool } : undefined;
}

/**
 * Makes sure `prometheus` and `promtool` are on PATH, installing Debian's `prometheus` package (without its
 * recommended node exporter) if they are missing: about 15 s with warm package lists, 19 MB. apt-get runs under
 * `flock /tmp/apt.lock`, so it never races another apt-get of this machine's tools. The package's service is not
 * left running: where policy-rc.d forbids starting services (containers, CI) it never starts; otherwise it is
 * stopped and disabled at once, since the lab runs its own Prometheus on loopback (prometheus.component.ts).
 */
export async function installPrometheus(onProgress?: (message: string) => void): Promise<PrometheusInstall> {
  return installed() ?? (await withInstallLock('prometheus', () => aptInstall(onProgress), onProgress));
}

async function aptInstall(onProgress?: (message: string) => void): Promise<PrometheusInstall> {
  const existing = installed();
  if (existing) return existing;
  if (!findOnPath('apt-get')) {
    throw new InfraInstallError('prometheus and promtool are not on PATH and there is no apt-get to install them.');
  }
  if (process.getuid?.() !== 0) {
    throw new InfraInstallError(
      'Need root to install Prometheus. Run `apt-get install -y --no-install-recommends prometheus`, then retry.',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const purpose = 'install prometheus with apt-get';
  const locked = findOnPath('flock') ? ['flock', APT_LOCK] : [];
  const apt = (args: string[]): Promise<string> => {
    const [program, ...rest] = [...locked, 'apt-get', ...args];
    return runCommand(program, rest, { env, purpose });
  };
  const started = Date.now();
  onProgress?.('installing Prometheus (apt-get install prometheus, first time only)…');
  const install = ['install', '-y', '--no-install-recommends', 'prometheus'];
  try {
    await apt(install);
  } catch {
    // Package lists missing or stale (a fresh CI machine): update them once and try again.
    await apt(['update']);
    await apt(install);
  }
  await stopPackagedService();
  const result = installed();
  if (!result) throw new InfraInstallError('apt-get installed prometheus, but prometheus or promtool is not on PATH.');
  onProgress?.(`installed Prometheus in ${Math.round((Date.now() - started) / 1000)}s`);
  return result;
}

async function stopPackagedService(): Promise<void> {
  const command = existsSync('/run/systemd/system')
    ? ['systemctl', 'disable', '--now', 'prometheus']
    : ['service', 'prometheus', 'stop'];
  const [program, ...args] = command;
  // Not running is the usual case (policy-rc.d): nothing to stop.
  await runCommand(program, args, { purpose: 'stop the prometheus service the Debian package may start' }).catch(
    () => undefined,
  );
}
