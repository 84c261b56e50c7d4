import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { SupervisedProcess } from './child-process.supervisor';
import { readyOrStopped, type ReadinessResult } from './wait-until-ready';

const READY_TIMEOUT_MS = 30_000;

/**
 * Prometheus's own HTTP API and UI show every tenant's series, so they take HTTP basic auth: this user with the lab's
 * metrics scrape token as password (whoever may scrape may read). In local mode a tenant VM shares 127.0.0.1 with
 * Prometheus, so this is the wall there, as the service tokens are around the services.
 */
export const PROMETHEUS_USER = 'tenantlab';

/** The Authorization header of a call to the lab's Prometheus. */
export function prometheusAuthHeaders(token: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${PROMETHEUS_USER}:${token}`).toString('base64')}` };
}

/** Prometheus's web configuration (`--web.config.file`): basic auth with the token's bcrypt hash, never the token. */
export function prometheusWebConfig(token: string): string {
  return `${JSON.stringify({ basic_auth_users: { [PROMETHEUS_USER]: bcrypt.hashSync(token, 10) } }, null, 2)}\n`;
}

export interface PrometheusOptions {
  /** The prometheus binary (Debian's package: /usr/bin/prometheus). */
  binary: string;
  /** The lab's data dir: config, token copy and TSDB go to `prometheus/`, the log to `logs/prometheus.log`. */
  dataDir: string;
  port: number;
  /** The configuration (prometheusConfig) naming `credentialsFile`. */
  config: string;
  /** Where the configuration's `credentials_file` points; written owner-only with the token. */
  credentialsFile: string;
  token: string;
  restarting?: boolean;
  onLine?: (line: string) => void;
}

/** The directory of a lab's Prometheus (its config, TSDB and token copy). */
export function prometheusDir(dataDir: string): string {
  return path.join(dataDir, 'prometheus');
}

/** Ready when Prometheus's own /-/ready answers 200 (to the lab's credentials). */
export async function probePrometheus(port: number, token: string | undefined): Promise<ReadinessResult> {
  try {
    const { status } = await fetch(`http://127.0.0.1:${port}/-/ready`, {
      signal: AbortSignal.timeout(2000),
      headers: token ? prometheusAuthHeaders(token) : {},
    });
    return { ready: status === 200, detail: status === 200 ? 'ready' : `HTTP ${status}` };
  } catch (error) {
    return { ready: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The local Prometheus's command line: its configuration, its TSDB in the lab's data dir kept for two hours, its web
 * listener on 127.0.0.1 only, and the basic-auth web configuration.
 */
export function prometheusArgs(files: {
  configFile: string;
  dataDir: string;
  port: number;
  webConfigFile: string;
}): string[] {
  return [
    `--config.file=${files.configFile}`,
    `--storage.tsdb.path=${files.dataDir}`,
    '--storage.tsdb.retention.time=2h',
    `--web.listen-address=127.0.0.1:${files.port}`,
    `--web.config.file=${files.webConfigFile}`,
  ];
}

/**
 * Runs Prometheus as a child of the lab on 127.0.0.1 only (its web listener is its only socket), with a TSDB in the
 * lab's data dir kept for two hours, and waits until it is ready.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<SupervisedProcess> {
  const dir = prometheusDir(options.dataDir);
  const logs = path.join(options.dataDir, 'logs');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await mkdir(logs, { recursive: true });
  await writeFile(options.credentialsFile, options.token, { mode: 0o600 });
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, options.config);
  const webConfigFile = path.join(dir, 'web.yml');
  await writeFile(webConfigFile, prometheusWebConfig(options.token), { mode: 0o600 });
  const child = await SupervisedProcess.start({
    component: 'prometheus',
    command: options.binary,
    args: prometheusArgs({ configFile, dataDir: path.join(dir, 'data'), port: options.port, webConfigFile }),
    cwd: dir,
    logFile: path.join(logs, 'prometheus.log'),
    appendLog: options.restarting,
    onLine: options.onLine,
  });
  return readyOrStopped(
    child,
    `Prometheus (port ${options.port})`,
    () => probePrometheus(options.port, options.token),
    READY_TIMEOUT_MS,
  );
}
