import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prometheusDir, prometheusWebConfig } from '../infra/prometheus.component';
import type { ComponentEntry } from '../lab-state';
import {
  METRICS_SCRAPE_TOKEN,
  METRICS_VM_SCRAPE_TOKEN,
  metricsScrapeTokenFiles,
  prometheusConfig,
  PROMETHEUS_PORT,
  PROMETHEUS_WEB_PASSWORD,
  prometheusWebPasswordFile,
  type ScrapeTarget,
} from '../prometheus-config';
import type { ComposeDocument, ComposeService } from './compose-file';

/** Where the container finds the lab's configuration directory (mounted read-only). */
const CONFIG_MOUNT = '/etc/tenantlab/prometheus';
/**
 * The Compose secrets Prometheus reads, named as the lab secrets they hold (mounted at /run/secrets/<name>, never in
 * the environment): the services' scrape token, the VMs' scrape token and its web password.
 */
export const PROMETHEUS_TOKEN_SECRET = METRICS_SCRAPE_TOKEN;
export const PROMETHEUS_VM_TOKEN_SECRET = METRICS_VM_SCRAPE_TOKEN;
export const PROMETHEUS_WEB_PASSWORD_SECRET = PROMETHEUS_WEB_PASSWORD;
/** The prometheus user's owner-only copies of the scrape tokens that docker/prometheus-entrypoint.sh makes. */
const CONTAINER_TOKEN_FILES = { service: '/run/prometheus/scrape-token', vm: '/run/prometheus/vm-scrape-token' };

/**
 * What Prometheus scrapes in a Docker lab: every service and VM among the lab's components, at its Compose service
 * name and the port its container listens on (its PORT), over the lab's networks.
 */
export function dockerScrapeTargets(project: ComposeDocument, components: readonly ComponentEntry[]): ScrapeTarget[] {
  return components.flatMap((component): ScrapeTarget[] => {
    if (component.kind !== 'service' && component.kind !== 'vm') return [];
    const port = project.services[component.name]?.environment['PORT'];
    if (!port) throw new Error(`the compose project has no service ${component.name} with a PORT to scrape`);
    return [{ component: component.name, kind: component.kind, address: `${component.name}:${port}` }];
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
): string {
  const dir = path.join(prometheusDir(dataDir), 'container');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig(targets, CONTAINER_TOKEN_FILES));
  writeFileSync(path.join(dir, 'web.yml'), prometheusWebConfig(webPassword), { mode: 0o600 });
  return dir;
}

/**
 * The project with a Prometheus container (`lab up --prometheus`, Docker mode): Debian's Prometheus (the
 * tenantlab/prometheus image) on both networks, so it reaches every service on `core` and every VM on `tenant-vms`;
 * its API behind basic auth with the lab's Prometheus web password, as in local mode (a VM can reach its port); its
 * port published on 127.0.0.1 only, moved by the offset; the two scrape tokens (services', VMs') and the web password
 * Compose secrets read from the lab's owner-only secret files. None of them is in the compose file, the environment
 * or the command line.
 */
export function withPrometheus(
  project: ComposeDocument,
  options: { portOffset: number; configDir: string; dataDir: string },
): ComposeDocument {
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
    secrets: [PROMETHEUS_TOKEN_SECRET, PROMETHEUS_VM_TOKEN_SECRET, PROMETHEUS_WEB_PASSWORD_SECRET],
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
      [PROMETHEUS_TOKEN_SECRET]: { file: metricsScrapeTokenFiles(options.dataDir).service },
      [PROMETHEUS_VM_TOKEN_SECRET]: { file: metricsScrapeTokenFiles(options.dataDir).vm },
      [PROMETHEUS_WEB_PASSWORD_SECRET]: { file: prometheusWebPasswordFile(options.dataDir) },
    },
  };
}
