/** Kafka topic names: lowercase, dotted (house style). One place, so producers and consumers cannot drift apart. */
export const TOPICS = {
  /** Heartbeats and status of long-running components (switch, allocator), keyed by component instance. */
  componentStatus: 'components.status',
  /** Sampled packet traces from the switch, keyed by tenant: headers, verdict, ports, timestamps, trace id. */
  packetTraces: 'switch.packet-traces',
  /** The switch's per-port and per-tenant counters and flow cache statistics, published periodically. */
  switchCounters: 'switch.counters',
  /** Events tenant programs `report` (heavy hitters, ...), keyed by tenant. */
  programEvents: 'switch.program-events',
  /** Per window, each tenant program's utility (memory hit ratio) as the switch measured it, keyed by tenant (seed 004). */
  utilityReports: 'allocator.utility-reports',
  /** Each run-time reallocation decision of the allocator, with the trace context of the reports it used. */
  reallocationDecisions: 'allocator.decisions',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Consumer groups, one per consuming service. */
export const CONSUMER_GROUPS = {
  telemetry: 'telemetry',
  /** The allocator's consumer of utility reports. */
  allocator: 'allocator',
} as const;
