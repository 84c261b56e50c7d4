import { commonEnv, ConfigOf, env, redisEnv } from '@tenantlab/shared';

export const operatorEnv = {
  ...commonEnv,
  ...redisEnv,
  PORT: env.port({ default: 3000 }),
  /** A VM whose last heartbeat is older than this is shown as not alive. */
  VM_LEASE_MS: env.integer({ default: 15_000, min: 1000 }),
};

export type OperatorConfig = ConfigOf<typeof operatorEnv>;

export const OPERATOR_CONFIG = Symbol('OPERATOR_CONFIG');
