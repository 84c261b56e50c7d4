import { commonEnv, ConfigOf, CONSUMER_GROUPS, env, kafkaEnv } from '@tenantlab/shared';

export const telemetryEnv = {
  ...commonEnv,
  ...kafkaEnv,
  PORT: env.port({ default: 3003 }),
  /** Tests give each run its own group so they never share committed offsets with a lab. */
  KAFKA_GROUP_ID: env.string({ default: CONSUMER_GROUPS.telemetry }),
};

export type TelemetryConfig = ConfigOf<typeof telemetryEnv>;

export const TELEMETRY_CONFIG = Symbol('TELEMETRY_CONFIG');
