import { Kafka, logLevel as KafkaLogLevel, LogEntry } from 'kafkajs';
import type { JsonLogger, LogLevel } from '../logging';

const KAFKA_TO_LOG_LEVEL: Record<number, LogLevel> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client whose own log lines go through the service's JSON logger, so they carry trace ids and show up in
 * the lab's merged log instead of kafkajs's separate console format.
 */
export function createKafkaClient(clientId: string, brokers: string[], logger: JsonLogger): Kafka {
  return new Kafka({
    clientId,
    brokers,
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
