import { commonEnv, ConfigOf, env, kafkaEnv, redisEnv } from '@tenantlab/shared';

export const switchEnv = {
  ...commonEnv,
  ...redisEnv,
  ...kafkaEnv,
  PORT: env.port({ default: 3001 }),
  /** How often the switch publishes its status heartbeat to Kafka. */
  STATUS_INTERVAL_MS: env.integer({ default: 2000, min: 100 }),
};

export type SwitchConfig = ConfigOf<typeof switchEnv>;

export const SWITCH_CONFIG = Symbol('SWITCH_CONFIG');
