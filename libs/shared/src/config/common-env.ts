import { env } from './env-schema';

/** Variables every service reads. Each service spreads these into its own schema. */
export const commonEnv = {
  HOST: env.string({ default: '127.0.0.1', describe: 'an address to bind to, such as 127.0.0.1 or 0.0.0.0' }),
  LOG_LEVEL: env.oneOf(['debug', 'info', 'warn', 'error'] as const, { default: 'info' }),
};

export const redisEnv = {
  REDIS_URL: env.url({ protocols: ['redis:', 'rediss:'], default: 'redis://127.0.0.1:6379' }),
};

export const kafkaEnv = {
  KAFKA_BROKERS: env.hostPorts({ default: '127.0.0.1:9092' }),
};
