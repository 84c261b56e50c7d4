import type { ImpairmentSpec } from '@tenantlab/shared';
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

/** A pcap file's frames sent from one VM at their recorded times (POST /traffic/replay). */
export interface ReplayWorkload {
  kind: 'replay';
  from: string;
  /** Its MAC goes over every frame's destination MAC; omitted, frames keep their recorded destination. */
  to?: string;
  /** The file, relative to the scenario file. */
  pcap: string;
  speed?: number;
  loops?: number;
  startMs?: number;
  stopMs?: number;
}

export type Workload = TrafficWorkload | TransferWorkload | PingWorkload | EchoWorkload | ReplayWorkload;

interface EventBase {
  atMs: MsRange;
  label?: string;
}

/** What an `impair` event sets on the VM's port: the switch's own impairment spec. */
export type Impairment = ImpairmentSpec;

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

/** The switch's settings for a run (its environment): the program CPU budget (seeds 000 and 002). */
export interface SwitchSettings {
  /** PROGRAM_CPU_NS_PER_SECOND: program time per second shared by the tenants' weights (1e9 = one core). */
  programCpuNsPerSecond?: number;
  /** PROGRAM_CPU_BURST_NS: the most one tenant may bank while idle. */
  programCpuBurstNs?: number;
  /** SWITCH_TENANT_QUANTUM: work one tenant may make the switch do per round (deficit round robin over tenants). */
  tenantQuantum?: number;
  /** UTILITY_WINDOW_MS: how often the switch reports each utility program's hit ratio (seed 004's window). */
  utilityWindowMs?: number;
  /** UTILITY_WINDOW_RESET: clear a reported program's registers after each window (one detection interval each). */
  utilityWindowReset?: boolean;
}

/** The allocator's settings for a run (its environment): seed 004's reallocation mode and the switch's memory. */
export interface AllocatorSettings {
  /** ALLOCATOR_REALLOCATION: live re-links the pipeline by the utility policy each window; static keeps the split. */
  reallocation?: 'live' | 'static';
  /** REALLOCATION_SETTLE_MS: how long after a window's first report the allocator waits for the rest. */
  settleMs?: number;
  /** SWITCH_STAGES and REGISTER_CELLS_PER_STAGE: the register memory all tenants' programs share. */
  stages?: number;
  registerCellsPerStage?: number;
  /** SWITCH_OPS_PER_PACKET: worst-case ops per packet over all tenants' programs. */
  opsPerPacket?: number;
  /**
   * TENANT_QUOTA_OPS_PER_PACKET: worst-case ops per packet of one tenant's program. Raised, a tenant's program may be
   * a long task (seed 002), which is what a CPU budget is for.
   */
  tenantOpsPerPacket?: number;
  /** TENANT_QUOTA_TABLES: tables in one tenant's program (at most the language's 32). */
  tenantTables?: number;
}

/**
 * One run of a comparison: the scenario with these fields replaced (tenants, workloads, switch) and these tenants
 * left out (with every workload and event that names them or their VMs). Variants run one after the other, each on
 * a lab of its own, and the report sets their figures side by side.
 */
export interface ScenarioVariant {
  name: string;
  description?: string;
  withoutTenants?: string[];
  tenants?: ScenarioTenant[];
  workloads?: Workload[];
  switch?: SwitchSettings;
  allocator?: AllocatorSettings;
}

/** A ratio of one figure between two variants, for the report (and bench/results with `--bench`). */
export interface ScenarioComparison {
  name: string;
  /** `p99Us`/`p50Us`: the worst of `vms`' receive latency; the others are the switch's, over `tenants` or all. */
  figure: ComparisonFigure;
  vms?: string[];
  tenants?: string[];
  variant: string;
  against: string;
  goal?: { atMost?: number; atLeast?: number };
  /** The seed's published figure (or claim) this one answers. */
  seed?: { source: string; figure: string; value?: number };
}

export const COMPARISON_FIGURES = [
  'p99Us',
  'p50Us',
  'programNsPerFrame',
  'switchCpuNsPerFrame',
  'satisfactionMean',
  'satisfactionP5',
  'decisionToInstalledP99Ms',
  'relinks',
  'framesLost',
] as const;
export type ComparisonFigure = (typeof COMPARISON_FIGURES)[number];

/** One figure of one variant, written as it is: in the report, and as `metrics.<name>` in bench/results (--bench). */
export interface ScenarioMetric {
  name: string;
  figure: ComparisonFigure;
  variant: string;
  vms?: string[];
  tenants?: string[];
  goal?: { atMost?: number; atLeast?: number };
  /** A figure measured elsewhere to set beside this one (another benchmark's results on the same seed). */
  reference?: MetricReference;
}

/** A number in a JSON file of the repository, such as a benchmark's results, that a metric is compared with. */
export interface MetricReference {
  /** What it is and how to make it, for the report. */
  label: string;
  /** The JSON file, from the repository root. */
  file: string;
  /** Dotted path of the number in it. */
  key: string;
  /** Dotted path of the seed it was measured on: it counts only when that is the run's seed. */
  seedKey?: string;
  /** Goal: the metric within this much of the reference. */
  within?: number;
}

export interface Scenario extends LabDefinition {
  description?: string;
  seed?: number;
  durationMs?: number;
  /** warmupMs: the VMs' receive counters and latency histograms are reset then, so figures cover the steady part. */
  collect?: { intervalMs?: number; drainMs?: number; warmupMs?: number };
  tenants: ScenarioTenant[];
  switch?: SwitchSettings;
  allocator?: AllocatorSettings;
  workloads?: Workload[];
  timeline?: ScenarioEvent[];
  variants?: ScenarioVariant[];
  comparisons?: ScenarioComparison[];
  metrics?: ScenarioMetric[];
}

export const DEFAULT_SEED = 1;
export const DEFAULT_DURATION_MS = 60_000;
export const DEFAULT_INTERVAL_MS = 500;
export const DEFAULT_DRAIN_MS = 10_000;
