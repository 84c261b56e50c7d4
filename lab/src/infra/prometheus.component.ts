import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { basicAuthorization } from '@tenantlab/shared';
import { SupervisedProcess } from './child-process.supervisor';
import { readyOrStopped, type ReadinessResult } from './wait-until-ready';
import type { PerScrapeJob } from '../prometheus-config';

const READY_TIMEOUT_MS = 30_000;

/**
 * Prometheus's own HTTP API and UI show every tenant's series, so they take HTTP basic auth: this user with the lab's
 * Prometheus web password (its own lab secret, never a scrape token: a VM sees its tenant's on every scrape). In
 * local mode a tenant VM shares 127.0.0.1 with Prometheus, so this is the wall there, as the service tokens are around
 * the services.
 */
export const PROMETHEUS_USER = 'tenantlab';

/** The Authorization header of a call to the lab's Prometheus. */
export function prometheusAuthHeaders(password: string): { authorization: string } {
  return { authorization: basicAuthorization(PROMETHEUS_USER, password) };
}

/** Prometheus's web configuration (`--web.config.file`): basic auth with the password's bcrypt hash, never it. */
export function prometheusWebConfig(password: string): string {
  return `${JSON.stringify({ basic_auth_users: { [PROMETHEUS_USER]: bcrypt.hashSync(password, 10) } }, null, 2)}\n`;
}

export interface PrometheusOptions {
  /** The prometheus binary (Debian's package: /usr/bin/prometheus). */
  binary: string;
  /** The lab's data dir: config, token copies and TSDB go to `prometheus/`, the log to `logs/prometheus.log`. */
  dataDir: string;
  port: number;
  /** The configuration (prometheusConfig) naming `credentialsFiles`. */
  config: string;
  /** Where each job's `credentials_file` points (the services', each tenant's VMs'); each written owner-only. */
  credentialsFiles: PerScrapeJob<string>;
  tokens: PerScrapeJob<string>;
  /** The web UI's and API's basic-auth password (the lab's Prometheus web password). */
  webPassword: string;
  restarting?: boolean;
  onLine?: (line: string) => void;
}

/** The directory of a lab's Prometheus (its config, TSDB and token copies). */
export function prometheusDir(dataDir: string): string {
  return path.join(dataDir, 'prometheus');
}

/** Ready when Prometheus's own /-/ready answers 200 (to the lab's web password). */
export async function probePrometheus(port: number, password: string | undefined): Promise<ReadinessResult> {
  try {
    const { status } = await fetch(`http://127.0.0.1:${port}/-/ready`, {
      signal: AbortSignal.timeout(2000),
      headers: password ? prometheusAuthHeaders(password) : {},
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
  await writeFile(options.credentialsFiles.service, options.tokens.service, { mode: 0o600 });
  for (const [tenant, file] of Object.entries(options.credentialsFiles.tenants)) {
    const token = options.tokens.tenants[tenant];
    if (!token) throw new Error(`no metrics scrape token for tenant ${tenant} to write to its credentials file`);
    await writeFile(file, token, { mode: 0o600 });
  }
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, options.config);
  const webConfigFile = path.join(dir, 'web.yml');
  await writeFile(webConfigFile, prometheusWebConfig(options.webPassword), { mode: 0o600 });
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
    () => probePrometheus(options.port, options.webPassword),
    READY_TIMEOUT_MS,
  );
}
