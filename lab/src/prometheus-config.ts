import { metricsTokenSha256 } from '@tenantlab/shared';
import { ensureLabSecret, labSecretFile } from './lab-secrets';

/** Prometheus's port in a lab: 9090 (its own default), moved by the port offset like every other port. */
export const PROMETHEUS_PORT = 9090;

/** The lab secret Prometheus scrapes with; the services get only its sha256 (METRICS_TOKEN_SHA256). */
export const METRICS_SCRAPE_TOKEN = 'metrics-scrape-token';

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
 * file (through the lab's plan), each labelled with its `component` name. Every scrape carries the lab's metrics
 * token from `credentialsFile` (`authorization: credentials_file`: the token is never in the configuration). JSON,
 * which YAML (Prometheus's format) includes.
 */
export function prometheusConfig(targets: readonly ScrapeTarget[], credentialsFile: string): string {
  const job = (name: string, kind: ScrapeTarget['kind']): object => ({
    job_name: name,
    metrics_path: '/metrics',
    authorization: { type: 'Bearer', credentials_file: credentialsFile },
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

/** The profile's metrics scrape token, created on first use (an owner-only lab secret). Never print it. */
export function ensureMetricsScrapeToken(dataDir: string): string {
  return ensureLabSecret(dataDir, METRICS_SCRAPE_TOKEN);
}

export function metricsScrapeTokenFile(dataDir: string): string {
  return labSecretFile(dataDir, METRICS_SCRAPE_TOKEN);
}

/** Gives every planned process (services and VMs) the sha256 of the lab's metrics token, never the token. */
export function withMetricsTokenHash<T extends { env: Record<string, string> }>(specs: T[], token: string): T[] {
  const hash = metricsTokenSha256(token);
  return specs.map((spec) => ({ ...spec, env: { ...spec.env, METRICS_TOKEN_SHA256: hash } }));
}
