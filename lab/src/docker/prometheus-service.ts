import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prometheusDir, prometheusWebConfig } from '../infra/prometheus.component';
import type { ComponentEntry } from '../lab-state';
import { metricsScrapeTokenFile, prometheusConfig, PROMETHEUS_PORT, type ScrapeTarget } from '../prometheus-config';
import type { ComposeDocument, ComposeService } from './compose-file';

/** Where the container finds the lab's configuration directory (mounted read-only). */
const CONFIG_MOUNT = '/etc/tenantlab/prometheus';
/** The Compose secret holding the metrics scrape token: mounted at /run/secrets/<name>, never in the environment. */
export const PROMETHEUS_TOKEN_SECRET = 'metrics-scrape-token';
/** The prometheus user's owner-only copy of the token that docker/prometheus-entrypoint.sh makes. */
const CONTAINER_TOKEN_FILE = '/run/prometheus/scrape-token';

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
 * local mode's, with container addresses, and the web configuration with the token's bcrypt hash, owner-only) and
 * returns that directory, which the container mounts.
 */
export function writeDockerPrometheusFiles(dataDir: string, targets: readonly ScrapeTarget[], token: string): string {
  const dir = path.join(prometheusDir(dataDir), 'container');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig(targets, CONTAINER_TOKEN_FILE));
  writeFileSync(path.join(dir, 'web.yml'), prometheusWebConfig(token), { mode: 0o600 });
  return dir;
}

/**
 * The project with a Prometheus container (`lab up --prometheus`, Docker mode): Debian's Prometheus (the
 * tenantlab/prometheus image) on both networks, so it reaches every service on `core` and every VM on `tenant-vms`;
 * its API behind basic auth with the lab's metrics token, as in local mode (a VM can reach its port); its port
 * published on 127.0.0.1 only, moved by the offset; the token a Compose secret read from the lab's owner-only secret
 * file. Nothing of the token is in the compose file, the environment or the command line.
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
    secrets: [PROMETHEUS_TOKEN_SECRET],
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
      [PROMETHEUS_TOKEN_SECRET]: { file: metricsScrapeTokenFile(options.dataDir) },
    },
  };
}
