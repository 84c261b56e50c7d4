import { commonEnv, ConfigOf, env, kafkaEnv, redisEnv } from '@tenantlab/shared';

export const allocatorEnv = {
  ...commonEnv,
  ...redisEnv,
  ...kafkaEnv,
  PORT: env.port({ default: 3002 }),
  /** How often the allocator publishes its status heartbeat to Kafka. */
  STATUS_INTERVAL_MS: env.integer({ default: 2000, min: 100 }),
};

export type AllocatorConfig = ConfigOf<typeof allocatorEnv>;

export const ALLOCATOR_CONFIG = Symbol('ALLOCATOR_CONFIG');
