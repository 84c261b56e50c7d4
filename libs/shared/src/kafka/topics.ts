/** Kafka topic names: lowercase, dotted (house style). One place, so producers and consumers cannot drift apart. */
export const TOPICS = {
  /** Heartbeats and status of long-running components (switch, allocator), keyed by component instance. */
  componentStatus: 'components.status',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Consumer groups, one per consuming service. */
export const CONSUMER_GROUPS = {
  telemetry: 'telemetry',
} as const;
