import {
  callerTokensEnv,
  commonEnv,
  ConfigOf,
  CONSUMER_GROUPS,
  env,
  kafkaEnv,
  metricsTokenEnv,
} from '@tenantlab/shared';
import { dashboardEnv } from '../dashboard/dashboard.config';

export const telemetryEnv = {
  ...commonEnv,
  /** Whose scrapes /metrics answers: the sha256 of the lab's metrics scrape token. */
  ...metricsTokenEnv,
  ...kafkaEnv,
  PORT: env.port({ default: 3003 }),
  /** Tests give each run its own group so they never share committed offsets with a lab. */
  KAFKA_GROUP_ID: env.string({ default: CONSUMER_GROUPS.telemetry }),
  /** Packet traces kept per tenant for GET /traces/:tenant and its pcap (the newest; older ones only count). */
  TRACES_KEPT_PER_TENANT: env.integer({ default: 2000, min: 1, max: 100_000 }),
  /** Program events (`report`) kept per tenant for GET /events/:tenant. */
  EVENTS_KEPT_PER_TENANT: env.integer({ default: 1000, min: 1, max: 100_000 }),
  /** Tenants whose traces and events are tracked; what tenants beyond it send is only counted. Bounds memory. */
  TRACE_TENANTS_MAX: env.integer({ default: 128, min: 1, max: 10_000 }),
  /** Who may call it (the operator, the lab's admin tools), each with its token: every route but /health, /ready. */
  ...callerTokensEnv,
  /** The lab dashboard (GET /dashboard): its login token and where its data comes from. */
  ...dashboardEnv,
};

export type TelemetryConfig = ConfigOf<typeof telemetryEnv>;

export const TELEMETRY_CONFIG = Symbol('TELEMETRY_CONFIG');
