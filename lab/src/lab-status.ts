import { containerMemory, listContainers } from './docker/docker-lab';
import { DEFAULT_INFRA_PORTS, offsetPorts } from './infra';
import { probeJaeger, probeKafka, probeRedis } from './infra/readiness-probes';
import type { ReadinessResult } from './infra/wait-until-ready';
import { isProcessAlive, LabState, residentBytes } from './lab-state';
import { probeReady } from './readiness-probe';
import { probePrometheus } from './infra/prometheus.component';
import { PROMETHEUS_PORT } from './prometheus-config';

export interface ComponentStatus {
  name: string;
  kind: string;
  url: string;
  pid: number;
  restarts?: number;
  running: boolean;
  ready: boolean;
  detail: string;
  rssBytes?: number;
}

/** The lab's secrets its infrastructure's probes need; each is left out where the lab made none. */
export interface StatusCredentials {
  /** The lab's Redis admin password. */
  redisPassword?: string;
  /** Its Kafka admin's password (the admin token). */
  kafkaAdminPassword?: string;
  /** Its Prometheus web password. */
  prometheusPassword?: string;
  /** Its Jaeger query API's password (local mode). */
  jaegerQueryPassword?: string;
}

/**
 * Asks every component of a running lab whether it is ready, and how much memory it holds, with the lab's
 * `credentials`; none appears in anything this returns.
 */
export async function collectStatus(
  state: LabState,
  { redisPassword, kafkaAdminPassword, prometheusPassword, jaegerQueryPassword }: StatusCredentials = {},
): Promise<ComponentStatus[]> {
  const ports = offsetPorts(DEFAULT_INFRA_PORTS, state.portOffset);
  // The broker takes only authenticated clients, in both modes (the admin user's password is the admin token).
  const kafkaAdmin = kafkaAdminPassword ? { username: 'admin', password: kafkaAdminPassword } : undefined;
  const infraProbes: Record<string, () => Promise<ReadinessResult>> = {
    redis: () => probeRedis(ports.redis, redisPassword),
    kafka: () => probeKafka(ports.kafka, kafkaAdmin),
    jaeger: () => probeJaeger(ports.jaegerQuery, jaegerQueryPassword),
    prometheus: () => probePrometheus(PROMETHEUS_PORT + state.portOffset, prometheusPassword),
  };
  if (state.mode === 'docker') return collectDockerStatus(state, infraProbes);
  return Promise.all(
    state.components.map(async (component): Promise<ComponentStatus> => {
      const running = isProcessAlive(component.pid);
      const readiness = !running
        ? { ready: false, detail: 'process not running' }
        : await (infraProbes[component.name] ?? (() => probeReady(component.url)))();
      return { ...component, running, ...readiness, rssBytes: running ? residentBytes(component.pid) : undefined };
    }),
  );
}

/** The same rows for a lab in containers: running from Docker, memory from `docker stats`, readiness probed alike. */
async function collectDockerStatus(
  state: LabState,
  infraProbes: Record<string, () => Promise<ReadinessResult>>,
): Promise<ComponentStatus[]> {
  const containers = await listContainers(state.profile);
  const memory = await containerMemory([...containers.values()].filter((c) => c.running).map((c) => c.id));
  return Promise.all(
    state.components.map(async (component): Promise<ComponentStatus> => {
      const container = containers.get(component.name);
      const running = container?.running ?? false;
      const readiness = !running
        ? { ready: false, detail: 'container not running' }
        : await (infraProbes[component.name] ?? (() => probeReady(component.url)))();
      return {
        ...component,
        pid: container?.pid ?? 0,
        // The engine restarts a container that exits (`restart: unless-stopped`) and counts it.
        restarts: container?.restarts ?? 0,
        running,
        ...readiness,
        rssBytes: container && running ? memory.get(container.id) : undefined,
      };
    }),
  );
}

export function formatStatusTable(state: LabState, rows: ComponentStatus[]): string {
  const header = ['COMPONENT', 'KIND', 'PID', 'READY', 'RESTARTS', 'MEMORY', 'URL', 'DETAIL'];
  const lines = rows.map((r) => [
    r.name,
    r.kind,
    String(r.pid),
    r.ready ? 'yes' : 'NO',
    String(r.restarts ?? 0),
    r.rssBytes === undefined ? '-' : mebibytes(r.rssBytes),
    r.url,
    r.ready ? '' : r.detail,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const total = rows.reduce((sum, r) => sum + (r.rssBytes ?? 0), 0);
  const ready = rows.filter((r) => r.ready).length;
  return [
    `Lab "${state.profile}" (runner pid ${state.runnerPid}, started ${state.startedAt})`,
    render(header),
    ...lines.map(render),
    `${ready}/${rows.length} ready, ${mebibytes(total)} resident in all`,
  ].join('\n');
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}
