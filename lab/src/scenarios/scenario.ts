import type { LabDefinition, TenantCapsOverrides } from '../lab-definition';

/** A duration or time in ms, or `[min, max]`: drawn from the scenario's seeded PRNG. */
export type MsRange = number | [number, number];
/** A program document, or the path of one relative to the repository. */
export type ProgramSource = string | Record<string, unknown>;

export interface ScenarioTenant {
  id: string;
  vms: string[];
  caps?: TenantCapsOverrides;
  /** Circuit policy: this tenant may open circuits to `service` of tenant `to`. */
  allow?: { to: string; service: string }[];
  program?: ProgramSource;
  cpuWeight?: number;
  traceSampling?: number;
}

export interface TrafficWorkload {
  kind: 'traffic';
  from: string;
  to: string[];
  protocol?: 'udp' | 'tcp';
  ratePps: number;
  size?: number;
  flows?: number;
  zipf?: number;
  startMs?: number;
  stopMs?: number;
  phases?: { onMs: MsRange; offMs: MsRange };
}

export interface TransferWorkload {
  kind: 'transfer';
  from: string;
  target: string;
  mode?: 'stream' | 'datagram';
  count: number;
  size: number;
  everyMs?: number;
  startMs?: number;
  stopMs?: number;
}

export interface PingWorkload {
  kind: 'ping';
  from: string;
  target: string;
  count?: number;
  size?: number;
  everyMs?: number;
  startMs?: number;
  stopMs?: number;
}

export interface EchoWorkload {
  kind: 'echo';
  vm: string;
  service: string;
}

export type Workload = TrafficWorkload | TransferWorkload | PingWorkload | EchoWorkload;

interface EventBase {
  atMs: MsRange;
  label?: string;
}

export interface Impairment {
  delayMs?: number;
  jitterMs?: number;
  lossRate?: number;
  reorderRate?: number;
  rateFramesPerSecond?: number;
  seed?: number;
}

export type ScenarioEvent = EventBase &
  (
    | { kind: 'kill'; target: string }
    | { kind: 'pause'; target: string; forMs: number }
    | { kind: 'restart-empty'; target: 'redis' }
    | ({ kind: 'impair'; vm: string; forMs?: number } & Impairment)
    | { kind: 'clear-impairment'; vm: string }
    | { kind: 'program'; tenant: string; program: ProgramSource }
    | { kind: 'cpu-weight'; tenant: string; weight: number }
    | { kind: 'sampling'; tenant: string; rate: number }
  );

export interface Scenario extends LabDefinition {
  description?: string;
  seed?: number;
  durationMs?: number;
  collect?: { intervalMs?: number; drainMs?: number };
  tenants: ScenarioTenant[];
  workloads?: Workload[];
  timeline?: ScenarioEvent[];
}

export const DEFAULT_SEED = 1;
export const DEFAULT_DURATION_MS = 60_000;
export const DEFAULT_INTERVAL_MS = 500;
export const DEFAULT_DRAIN_MS = 10_000;
