import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prometheusDir, prometheusWebConfig } from '../infra/prometheus.component';
import type { ComponentEntry } from '../lab-state';
import {
  METRICS_SCRAPE_TOKEN,
  metricsScrapeTokenFiles,
  metricsVmScrapeTokenName,
  prometheusConfig,
  PROMETHEUS_PORT,
  PROMETHEUS_WEB_PASSWORD,
  prometheusWebPasswordFile,
  scrapeCredentialsFiles,
  type ScrapeTarget,
} from '../prometheus-config';
import type { ComposeDocument, ComposeService } from './compose-file';

/** Where the container finds the lab's configuration directory (mounted read-only). */
const CONFIG_MOUNT = '/etc/tenantlab/prometheus';
/**
 * The Compose secrets Prometheus reads, named as the lab secrets they hold (mounted at /run/secrets/<name>, never in
 * the environment): the services' scrape token, each tenant's VMs' (metricsVmScrapeTokenName) and its web password.
 */
export const PROMETHEUS_TOKEN_SECRET = METRICS_SCRAPE_TOKEN;
export const PROMETHEUS_WEB_PASSWORD_SECRET = PROMETHEUS_WEB_PASSWORD;
/**
 * The prometheus user's owner-only copies of the scrape tokens, which docker/prometheus-entrypoint.sh makes from
 * every mounted `metrics-*scrape-token*` secret (the name without `metrics-`).
 */
const CONTAINER_TOKEN_DIR = '/run/prometheus';

/**
 * What Prometheus scrapes in a Docker lab: every service and VM among the lab's components, at its Compose service
 * name and the port its container listens on (its PORT), over the lab's networks; a VM in its tenant's job (its
 * TENANT_ID).
 */
export function dockerScrapeTargets(project: ComposeDocument, components: readonly ComponentEntry[]): ScrapeTarget[] {
  return components.flatMap((component): ScrapeTarget[] => {
    if (component.kind !== 'service' && component.kind !== 'vm') return [];
    const environment = project.services[component.name]?.environment ?? {};
    const port = environment['PORT'];
    if (!port) throw new Error(`the compose project has no service ${component.name} with a PORT to scrape`);
    const address = `${component.name}:${port}`;
    if (component.kind === 'service') return [{ component: component.name, kind: 'service', address }];
    const tenant = environment['TENANT_ID'];
    if (!tenant) throw new Error(`the compose project's VM ${component.name} has no TENANT_ID`);
    return [{ component: component.name, kind: 'vm', tenant, address }];
  });
}

/**
 * Writes a Docker lab's Prometheus configuration into `.lab/<profile>/prometheus/container/` (the same generator as
 * local mode's, with container addresses, and the web configuration with the web password's bcrypt hash, owner-only)
 * and returns that directory, which the container mounts.
 */
export function writeDockerPrometheusFiles(
  dataDir: string,
  targets: readonly ScrapeTarget[],
  webPassword: string,
  tenants: readonly string[],
): string {
  const dir = path.join(prometheusDir(dataDir), 'container');
  mkdirSync(dir, { recursive: true });
  const credentialsFiles = scrapeCredentialsFiles(CONTAINER_TOKEN_DIR, tenants);
  writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig(targets, credentialsFiles));
  writeFileSync(path.join(dir, 'web.yml'), prometheusWebConfig(webPassword), { mode: 0o600 });
  return dir;
}

/**
 * The project with a Prometheus container (`lab up --prometheus`, Docker mode): Debian's Prometheus (the
 * tenantlab/prometheus image) on both networks, so it reaches every service on `core` and every VM on `tenant-vms`;
 * its API behind basic auth with the lab's Prometheus web password, as in local mode (a VM can reach its port); its
 * port published on 127.0.0.1 only, moved by the offset; the scrape tokens (the services', each of `tenants`' VMs')
 * and the web password Compose secrets read from the lab's owner-only secret files. None of them is in the compose
 * file, the environment or the command line.
 */
export function withPrometheus(
  project: ComposeDocument,
  options: { portOffset: number; configDir: string; dataDir: string; tenants: readonly string[] },
): ComposeDocument {
  const tokenFiles = metricsScrapeTokenFiles(options.dataDir, options.tenants);
  const tokenSecrets: Record<string, { file: string }> = {
    [PROMETHEUS_TOKEN_SECRET]: { file: tokenFiles.service },
    ...Object.fromEntries(
      Object.entries(tokenFiles.tenants).map(([tenant, file]) => [metricsVmScrapeTokenName(tenant), { file }]),
    ),
  };
  const service: ComposeService = {
    image: '${PROMETHEUS_IMAGE:-tenantlab/prometheus:local}',
    restart: 'unless-stopped',
    // A few targets every 5 s, two hours kept: far below this; the Go soft limit keeps it so.
    mem_limit: '256m',
    environment: { GOMEMLIMIT: '200MiB' },
    command: [
      `--config.file=${CONFIG_MOUNT}/prometheus.yml`,
      '--storage.tsdb.path=/var/lib/prometheus/metrics2',
      '--storage.tsdb.retention.time=2h',
      '--web.listen-address=:9090',
      '--web.config.file=/run/prometheus/web.yml',
    ],
    volumes: [`${options.configDir}:${CONFIG_MOUNT}:ro`],
    secrets: [...Object.keys(tokenSecrets), PROMETHEUS_WEB_PASSWORD_SECRET],
    ports: [`127.0.0.1:${PROMETHEUS_PORT + options.portOffset}:9090`],
    networks: ['core', 'tenant-vms'],
    healthcheck: {
      test: ['CMD', '/usr/local/bin/prometheus-ready.sh'],
      interval: '5s',
      timeout: '3s',
      retries: 12,
      start_period: '5s',
    },
  };
  return {
    ...project,
    services: { ...project.services, prometheus: service },
    secrets: {
      ...project.secrets,
      ...tokenSecrets,
      [PROMETHEUS_WEB_PASSWORD_SECRET]: { file: prometheusWebPasswordFile(options.dataDir) },
    },
  };
}
