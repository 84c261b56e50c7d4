import { Kafka, logLevel as KafkaLogLevel, LogEntry } from 'kafkajs';
import type { JsonLogger, LogLevel } from '../logging';

const KAFKA_TO_LOG_LEVEL: Record<number, LogLevel> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** A Kafka user's SCRAM credentials: the lab's broker refuses clients without them (`KAFKA_USERNAME`/`_PASSWORD`). */
export interface KafkaCredentials {
  username: string;
  password: string;
}

/**
 * A kafkajs client whose own log lines go through the service's JSON logger, so they carry trace ids and show up in
 * the lab's merged log instead of kafkajs's separate console format. With `credentials` it authenticates with
 * SASL/SCRAM-SHA-512 (the lab's broker); without, it connects unauthenticated (tests' own open brokers).
 */
export function createKafkaClient(
  clientId: string,
  brokers: string[],
  logger: JsonLogger,
  credentials?: KafkaCredentials,
): Kafka {
  return new Kafka({
    clientId,
    brokers,
    ...(credentials ? { sasl: kafkaSasl(credentials) } : {}),
    connectionTimeout: 3000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...fields } = log;
        logger.record(KAFKA_TO_LOG_LEVEL[level] ?? 'info', String(message), {
          context: namespace ? `kafkajs.${namespace}` : 'kafkajs',
          ...fields,
        });
      },
  });
}

/** kafkajs's SASL options for a SCRAM-SHA-512 user. */
export function kafkaSasl(credentials: KafkaCredentials): {
  mechanism: 'scram-sha-512';
  username: string;
  password: string;
} {
  return { mechanism: 'scram-sha-512', username: credentials.username, password: credentials.password };
}
