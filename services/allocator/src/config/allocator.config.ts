import {
  callerTokensEnv,
  commonEnv,
  ConfigOf,
  env,
  kafkaEnv,
  DEFAULT_TENANT_QUOTA,
  PROGRAM_LIMITS,
  ProgramQuota,
  redisEnv,
  SWITCH_RESOURCE_DEFAULTS,
  metricsTokenEnv,
} from '@tenantlab/shared';

export const allocatorEnv = {
  ...commonEnv,
  /** Whose scrapes /metrics answers: the sha256 of the lab's metrics scrape token. */
  ...metricsTokenEnv,
  ...redisEnv,
  ...kafkaEnv,
  PORT: env.port({ default: 3002 }),
  /** How often the allocator publishes its status heartbeat to Kafka. */
  STATUS_INTERVAL_MS: env.integer({ default: 2000, min: 100 }),

  // The switch's resources (seed 004): what all tenants' programs together may use.
  /** Pipeline stages, each with its own register memory ("one big array" per stage). */
  SWITCH_STAGES: env.integer({ default: SWITCH_RESOURCE_DEFAULTS.stages, min: 1, max: 64 }),
  /** 64-bit register cells per stage. A register of width 64 or less takes one cell per entry, width 128 two. */
  REGISTER_CELLS_PER_STAGE: env.integer({
    default: SWITCH_RESOURCE_DEFAULTS.registerCellsPerStage,
    min: 1,
    max: 16_777_216,
  }),
  /** Table entries over all tenants' tables (sum of table sizes). */
  SWITCH_TABLE_ENTRIES: env.integer({ default: 65_536, min: 0 }),
  /** Worst-case ops per packet summed over all tenants' programs: a stand-in for the pipeline's time budget. */
  SWITCH_OPS_PER_PACKET: env.integer({ default: 256, min: 0 }),

  // What one tenant's program may use (the validator's ProgramQuota), the same for every tenant.
  TENANT_QUOTA_TABLES: env.integer({ default: DEFAULT_TENANT_QUOTA.tables, min: 0, max: PROGRAM_LIMITS.tables }),
  TENANT_QUOTA_TABLE_ENTRIES: env.integer({ default: DEFAULT_TENANT_QUOTA.tableEntries, min: 0 }),
  TENANT_QUOTA_REGISTER_BITS: env.integer({ default: DEFAULT_TENANT_QUOTA.registerBits, min: 0 }),
  TENANT_QUOTA_COUNTERS: env.integer({ default: DEFAULT_TENANT_QUOTA.counters, min: 0 }),
  TENANT_QUOTA_OPS_PER_PACKET: env.integer({ default: DEFAULT_TENANT_QUOTA.actionOpsPerPacket, min: 0 }),
  TENANT_QUOTA_HEADER_BYTES: env.integer({
    default: DEFAULT_TENANT_QUOTA.headerBytes,
    min: 0,
    max: PROGRAM_LIMITS.headerBytes,
  }),
  /**
   * Seed 004's run-time reallocation. live: after every switch window the utility policy's shares are re-linked into
   * the pipeline; static: each tenant keeps the memory it was admitted with, and the decisions only say so (for
   * comparison). Either way the allocator reads `allocator.utility-reports` and publishes on `allocator.decisions`.
   */
  ALLOCATOR_REALLOCATION: env.oneOf(['live', 'static'] as const, { default: 'live' }),
  /** How long after a window's first report the allocator waits for the rest of that window's before it decides. */
  REALLOCATION_SETTLE_MS: env.integer({ default: 300, min: 0, max: 60_000 }),
  /** Who may call it (the operator, the lab's admin tools), each with its token: every route but /health, /ready. */
  ...callerTokensEnv,
};

export type AllocatorConfig = ConfigOf<typeof allocatorEnv>;

export const ALLOCATOR_CONFIG = Symbol('ALLOCATOR_CONFIG');

/** The switch's capacity, as the admission check sees it. */
export interface SwitchResources {
  readonly stages: number;
  readonly cellsPerStage: number;
  readonly tableEntries: number;
  readonly opsPerPacket: number;
}

export function switchResources(
  config: Pick<
    AllocatorConfig,
    'SWITCH_STAGES' | 'REGISTER_CELLS_PER_STAGE' | 'SWITCH_TABLE_ENTRIES' | 'SWITCH_OPS_PER_PACKET'
  >,
): SwitchResources {
  return {
    stages: config.SWITCH_STAGES,
    cellsPerStage: config.REGISTER_CELLS_PER_STAGE,
    tableEntries: config.SWITCH_TABLE_ENTRIES,
    opsPerPacket: config.SWITCH_OPS_PER_PACKET,
  };
}

export function tenantQuota(
  config: Pick<
    AllocatorConfig,
    | 'TENANT_QUOTA_TABLES'
    | 'TENANT_QUOTA_TABLE_ENTRIES'
    | 'TENANT_QUOTA_REGISTER_BITS'
    | 'TENANT_QUOTA_COUNTERS'
    | 'TENANT_QUOTA_OPS_PER_PACKET'
    | 'TENANT_QUOTA_HEADER_BYTES'
  >,
): ProgramQuota {
  return {
    tables: config.TENANT_QUOTA_TABLES,
    tableEntries: config.TENANT_QUOTA_TABLE_ENTRIES,
    registerBits: config.TENANT_QUOTA_REGISTER_BITS,
    counters: config.TENANT_QUOTA_COUNTERS,
    actionOpsPerPacket: config.TENANT_QUOTA_OPS_PER_PACKET,
    headerBytes: config.TENANT_QUOTA_HEADER_BYTES,
  };
}
