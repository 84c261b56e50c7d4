import { ConfigError } from '../errors';
import { env, type EnvVar } from './env-schema';

/** Variables every service reads. Each service spreads these into its own schema. */
export const commonEnv = {
  HOST: env.string({ default: '127.0.0.1', describe: 'an address to bind to, such as 127.0.0.1 or 0.0.0.0' }),
  LOG_LEVEL: env.oneOf(['debug', 'info', 'warn', 'error'] as const, { default: 'info' }),
};

export const redisEnv = {
  REDIS_URL: env.url({ protocols: ['redis:', 'rediss:'], default: 'redis://127.0.0.1:6379' }),
};

/** A Kafka SCRAM username or password: optional, as a test's own broker may be open; the lab sets both. */
function kafkaCredential(expects: string, pattern: RegExp): EnvVar<string | undefined> {
  return { expects, optional: true, parse: (raw) => (pattern.test(raw) ? raw : undefined) };
}

export const kafkaEnv = {
  KAFKA_BROKERS: env.hostPorts({ default: '127.0.0.1:9092' }),
  /** The service's Kafka user (SASL/SCRAM-SHA-512); unset, the client connects unauthenticated. */
  KAFKA_USERNAME: kafkaCredential('a Kafka user name of a-z 0-9 -', /^[a-z0-9-]{1,64}$/),
  KAFKA_PASSWORD: kafkaCredential('32-256 characters of A-Z a-z 0-9 _ -', /^[A-Za-z0-9_-]{32,256}$/),
};

/** The SCRAM credentials a service's Kafka config names, or undefined when it names none (both must be set). */
export function kafkaCredentialsOf(config: {
  KAFKA_USERNAME?: string;
  KAFKA_PASSWORD?: string;
}): { username: string; password: string } | undefined {
  if (config.KAFKA_USERNAME === undefined && config.KAFKA_PASSWORD === undefined) return undefined;
  if (config.KAFKA_USERNAME === undefined || config.KAFKA_PASSWORD === undefined) {
    throw new ConfigError('KAFKA_USERNAME', 'and KAFKA_PASSWORD must be set together');
  }
  return { username: config.KAFKA_USERNAME, password: config.KAFKA_PASSWORD };
}
