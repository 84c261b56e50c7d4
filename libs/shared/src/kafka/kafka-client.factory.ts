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
        logger.record(kafkaLogLevel(namespace, level, log), String(message), {
          context: namespace ? `kafkajs.${namespace}` : 'kafkajs',
          ...fields,
        });
      },
  });
}

/**
 * The level a kafkajs log line gets in the service's log. kafkajs logs at ERROR every failed response of a connection
 * (a group coordinator or partition leader not elected yet, a broker still starting) and every attempt of a retry,
 * and a consumer's crash and restart, though it retries or restarts by itself and the caller hears of the outcome
 * (a rejected call when the retries run out, the consumer's CRASH event) and reports it ("status heartbeat not
 * published", "Kafka unavailable", telemetry's consumer, readiness). So those are debug: a healthy lab start, whose
 * Kafka settles its group coordinator and partition leaders while the services connect, prints no error. The rest
 * (a failed listener, a rebalance) keeps kafkajs's level.
 */
export function kafkaLogLevel(namespace: string, level: KafkaLogLevel, log: LogEntry['log']): LogLevel {
  // Lines of the retrier and of a consumer's crash and restart carry `retryCount` (set or not).
  const retried = Object.hasOwn(log, 'retryCount');
  if (level <= KafkaLogLevel.WARN && (namespace === 'Connection' || retried)) return 'debug';
  return KAFKA_TO_LOG_LEVEL[level] ?? 'info';
}

/**
 * The level of a client's own "Kafka not reached" lines: debug until Kafka has answered it once, for at most
 * `graceMs` from its start (a lab starts the services while Kafka settles; readiness shows the wait), warn after
 * that, and warn for every failure once Kafka had been reached.
 */
export class KafkaStartupLogLevel {
  private reached = false;
  private readonly since = Date.now();

  constructor(private readonly graceMs = 60_000) {}

  /** Kafka answered: from now on a failure is news. */
  markReached(): void {
    this.reached = true;
  }

  level(): LogLevel {
    return !this.reached && Date.now() - this.since < this.graceMs ? 'debug' : 'warn';
  }
}

/** kafkajs's SASL options for a SCRAM-SHA-512 user. */
export function kafkaSasl(credentials: KafkaCredentials): {
  mechanism: 'scram-sha-512';
  username: string;
  password: string;
} {
  return { mechanism: 'scram-sha-512', username: credentials.username, password: credentials.password };
}
