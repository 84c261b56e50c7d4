import { metricsTokenSha256 } from '@tenantlab/shared';
import { ensureLabSecret, labSecretFile, readLabSecret } from './lab-secrets';

/** Prometheus's port in a lab: 9090 (its own default), moved by the port offset like every other port. */
export const PROMETHEUS_PORT = 9090;

/** The lab secret Prometheus scrapes the services with; the services get only its sha256 (METRICS_TOKEN_SHA256). */
export const METRICS_SCRAPE_TOKEN = 'metrics-scrape-token';
/**
 * The lab secret Prometheus scrapes the tenant VMs with; the VMs get only its sha256 (METRICS_TOKEN_SHA256). A VM's
 * /metrics handler is the tenant's own code and sees this token on every scrape: so it opens no service's /metrics
 * (they check the other secret) and not Prometheus (PROMETHEUS_WEB_PASSWORD).
 */
export const METRICS_VM_SCRAPE_TOKEN = 'metrics-vm-scrape-token';
/** The lab secret that is the password of Prometheus's web UI and API (user tenantlab): neither scrape token. */
export const PROMETHEUS_WEB_PASSWORD = 'prometheus-web-password';

/** One value per kind of scrape target: the services' and the VMs'. */
export type PerTargetKind<T> = Record<ScrapeTarget['kind'], T>;

/** One scrape target: a service or VM of the lab, by its component name, at `address` (host:port). */
export interface ScrapeTarget {
  component: string;
  kind: 'service' | 'vm';
  address: string;
}

/** How often Prometheus scrapes the lab: often enough that a test sees a target up within seconds. */
const SCRAPE_INTERVAL = '5s';

/**
 * Prometheus's configuration for a lab: one job for the services, one for the tenant VMs, every target from the lab
 * file (through the lab's plan), each labelled with its `component` name. Each job's scrapes carry its own token, from
 * `credentialsFiles[kind]` (`authorization: credentials_file`: no token is in the configuration): what a VM sees
 * scraped opens no service. JSON, which YAML (Prometheus's format) includes.
 */
export function prometheusConfig(targets: readonly ScrapeTarget[], credentialsFiles: PerTargetKind<string>): string {
  const job = (name: string, kind: ScrapeTarget['kind']): object => ({
    job_name: name,
    metrics_path: '/metrics',
    authorization: { type: 'Bearer', credentials_file: credentialsFiles[kind] },
    static_configs: targets
      .filter((target) => target.kind === kind)
      .map((target) => ({ targets: [target.address], labels: { component: target.component } })),
  });
  const config = {
    global: { scrape_interval: SCRAPE_INTERVAL, scrape_timeout: '4s', evaluation_interval: '15s' },
    scrape_configs: [job('tenantlab-services', 'service'), job('tenantlab-vms', 'vm')],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The profile's services' metrics scrape token, created on first use (an owner-only lab secret). Never print it. */
export function ensureMetricsScrapeToken(dataDir: string): string {
  return ensureLabSecret(dataDir, METRICS_SCRAPE_TOKEN);
}

export function metricsScrapeTokenFile(dataDir: string): string {
  return labSecretFile(dataDir, METRICS_SCRAPE_TOKEN);
}

/** The profile's scrape tokens, one per kind of target, created on first use (owner-only lab secrets). */
export function ensureMetricsScrapeTokens(dataDir: string): PerTargetKind<string> {
  const tokens = { service: ensureMetricsScrapeToken(dataDir), vm: ensureLabSecret(dataDir, METRICS_VM_SCRAPE_TOKEN) };
  assertDistinctSecrets(dataDir, tokens);
  return tokens;
}

export function metricsScrapeTokenFiles(dataDir: string): PerTargetKind<string> {
  return { service: metricsScrapeTokenFile(dataDir), vm: labSecretFile(dataDir, METRICS_VM_SCRAPE_TOKEN) };
}

/**
 * The password of the profile's Prometheus web UI and API, created on first use (an owner-only lab secret). It must
 * be neither scrape token: a VM sees its own on every scrape, and a copied file must not make one open the other.
 */
export function ensurePrometheusWebPassword(dataDir: string): string {
  const password = ensureLabSecret(dataDir, PROMETHEUS_WEB_PASSWORD);
  assertDistinctSecrets(dataDir, { ...ensureMetricsScrapeTokens(dataDir), password });
  return password;
}

export function prometheusWebPasswordFile(dataDir: string): string {
  return labSecretFile(dataDir, PROMETHEUS_WEB_PASSWORD);
}

/** The profile's Prometheus secrets as a running lab made them ('' for one not there), without making any. */
export function readPrometheusSecrets(dataDir: string): { tokens: PerTargetKind<string>; webPassword: string } {
  return {
    tokens: {
      service: readLabSecret(dataDir, METRICS_SCRAPE_TOKEN) ?? '',
      vm: readLabSecret(dataDir, METRICS_VM_SCRAPE_TOKEN) ?? '',
    },
    webPassword: readLabSecret(dataDir, PROMETHEUS_WEB_PASSWORD) ?? '',
  };
}

function assertDistinctSecrets(dataDir: string, secrets: Record<string, string>): void {
  if (new Set(Object.values(secrets)).size < Object.keys(secrets).length) {
    throw new Error(
      `two of the lab secrets ${[METRICS_SCRAPE_TOKEN, METRICS_VM_SCRAPE_TOKEN, PROMETHEUS_WEB_PASSWORD].join(', ')} ` +
        `in ${dataDir} are equal: each opens something the others must not. Delete them; the lab makes new ones.`,
    );
  }
}

/**
 * Gives every planned process the sha256 of the scrape token of its kind, never a token: the services the services'
 * token's, the tenant VMs the VMs'. A VM sees the VMs' token on every scrape; the services do not take it.
 */
export function withMetricsTokenHash<T extends { kind: ScrapeTarget['kind']; env: Record<string, string> }>(
  specs: T[],
  tokens: PerTargetKind<string>,
): T[] {
  const hashes = { service: metricsTokenSha256(tokens.service), vm: metricsTokenSha256(tokens.vm) };
  return specs.map((spec) => ({ ...spec, env: { ...spec.env, METRICS_TOKEN_SHA256: hashes[spec.kind] } }));
}
