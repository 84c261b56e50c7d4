import {
  callerTokensEnv,
  commonEnv,
  ConfigOf,
  env,
  kafkaEnv,
  redisEnv,
  SWITCH_RESOURCE_DEFAULTS,
  metricsTokenEnv,
  TENANT_PORT_BUDGETS,
} from '@tenantlab/shared';

export const switchEnv = {
  ...commonEnv,
  /** Whose scrapes /metrics answers: the sha256 of the lab's metrics scrape token. */
  ...metricsTokenEnv,
  ...redisEnv,
  ...kafkaEnv,
  PORT: env.port({ default: 3001 }),
  /** How often the switch publishes its status heartbeat to Kafka. */
  STATUS_INTERVAL_MS: env.integer({ default: 2000, min: 100 }),
  /** Flows the exact-match cache holds; 0 turns it off (every frame takes the full lookup). */
  FLOW_CACHE_SIZE: env.integer({ default: 65_536, min: 0 }),
  /** The most frames read from one port per round trip. */
  SWITCH_BATCH: env.integer({ default: 256, min: 1 }),
  /**
   * Work each tenant may make the switch do per round (deficit round robin over tenants): a frame read costs 1, and
   * 1 more per copy delivered. Smaller: a busy tenant delays another's frames less, in more round trips.
   */
  SWITCH_TENANT_QUANTUM: env.integer({ default: 256, min: 1 }),
  /** This switch's consumer name in each port's group: a restarted switch with the same name resumes its reads. */
  SWITCH_CONSUMER: env.string({
    default: 'switch-1',
    pattern: /^[a-z0-9][a-z0-9-]{0,62}$/,
    describe: 'a name of a-z, 0-9 and -',
  }),
  /** How often the switch rescans the operator's registry for VMs (ports) that came or went. */
  PORT_SCAN_INTERVAL_MS: env.integer({ default: 1000, min: 50 }),
  /** Share of each tenant's frames traced to Kafka, until set per tenant at run time (PUT /tenants/:id/sampling). */
  TRACE_SAMPLING_RATE: env.number({ default: 0.01, min: 0, max: 1 }),
  /** Bytes of each sampled frame included in its trace (0: headers only). */
  TRACE_SNAP_BYTES: env.integer({ default: 64, min: 0, max: 9216 }),
  /** How often counters go to Kafka. */
  COUNTERS_INTERVAL_MS: env.integer({ default: 5000, min: 100 }),
  /**
   * Length of a utility window (seed 004): at the end of each, every tenant program with `packets` and `misses`
   * counters is reported on `allocator.utility-reports` with its hit ratio. 0: no reports.
   */
  UTILITY_WINDOW_MS: env.integer({ default: 2000, min: 0 }),
  /**
   * true: a reported program's registers are cleared at the end of each window, so each window is one detection
   * interval from an empty table (as the in-process allocation benchmark models seed 004's per-interval tasks).
   */
  UTILITY_WINDOW_RESET: env.oneOf(['true', 'false'] as const, { default: 'false' }),
  /** Register memory: stages of 64-bit cells. Must match the allocator's, which hands the cells out. */
  SWITCH_STAGES: env.integer({ default: SWITCH_RESOURCE_DEFAULTS.stages, min: 1, max: 64 }),
  REGISTER_CELLS_PER_STAGE: env.integer({
    default: SWITCH_RESOURCE_DEFAULTS.registerCellsPerStage,
    min: 1,
    max: 16_777_216,
  }),
  /** Processing time tenant programs may use per second, shared by weight (1e9 = one core). */
  PROGRAM_CPU_NS_PER_SECOND: env.integer({ default: 500_000_000, min: 1_000 }),
  /** Most processing time one tenant may bank while idle (a burst). */
  PROGRAM_CPU_BURST_NS: env.integer({ default: 20_000_000, min: 1_000 }),
  /** Frames of one tenant over its CPU share that wait, unacknowledged, before more are dropped as `cpu-budget`. */
  PROGRAM_CPU_WAIT_FRAMES: env.integer({ default: 4096, min: 1, max: 65_536 }),
  /**
   * Storm control: flood copies (a frame flooded to n ports is n copies; floods to one port are not counted) each
   * tenant may make per second, beyond which its floods are dropped as `storm-control`. 0: no limit. The default is
   * a few hundred floods per second (about 300) for a tenant at the operator's default cap of 64 VMs, and far more
   * for smaller tenants: ARP-like broadcasts and unknown unicast before learning never reach it.
   */
  SWITCH_FLOOD_COPIES_PER_SECOND: env.integer({ default: 20_000, min: 0 }),
  /** Most flood copies a tenant banks while it floods less (one second's worth by default). */
  SWITCH_FLOOD_BURST_COPIES: env.integer({ default: 20_000, min: 1 }),
  /**
   * Each tenant's budget of Redis memory in its ports' streams, all its VMs together (issue 10: a tenant's VM count
   * must not multiply what it can hold in the shared Redis). A port gets its own bound (PORT_TX_MEMORY_BYTES,
   * PORT_CAPACITY_FRAMES, PORT_CAPACITY_BYTES) or an equal share of its tenant's budget, whichever is smaller. The
   * defaults are four ports' worth: a tenant of up to four VMs sees its ports' own bounds.
   */
  TENANT_TX_MEMORY_BYTES: env.integer({ default: TENANT_PORT_BUDGETS.txMemoryBytes, min: 1_048_576 }),
  TENANT_RX_FRAMES: env.integer({ default: TENANT_PORT_BUDGETS.rxFrames, min: 64 }),
  TENANT_RX_BYTES: env.integer({ default: TENANT_PORT_BUDGETS.rxBytes, min: 1_048_576 }),
  /** Who may call it (the operator, the lab's admin tools), each with its token: every route but /health, /ready. */
  ...callerTokensEnv,
};

export type SwitchConfig = ConfigOf<typeof switchEnv>;

export const SWITCH_CONFIG = Symbol('SWITCH_CONFIG');
