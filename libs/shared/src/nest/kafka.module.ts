import { DynamicModule, Module } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { createKafkaClient, type KafkaCredentials } from '../kafka';
import type { JsonLogger } from '../logging';
import type { ReadinessCheck } from './readiness';

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');

/** Provides the service's kafkajs client under KAFKA_CLIENT; producers and consumers are owned by their features. */
@Module({})
export class KafkaModule {
  static forRoot(options: {
    clientId: string;
    brokers: string[];
    logger: JsonLogger;
    credentials?: KafkaCredentials;
  }): DynamicModule {
    return {
      module: KafkaModule,
      global: true,
      providers: [
        {
          provide: KAFKA_CLIENT,
          useFactory: () => createKafkaClient(options.clientId, options.brokers, options.logger, options.credentials),
        },
      ],
      exports: [KAFKA_CLIENT],
    };
  }
}

/** Kafka is ready when the cluster answers a metadata request. */
export function kafkaReadinessCheck(kafka: Kafka): ReadinessCheck {
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  return {
    name: 'kafka',
    check: async () => {
      connected ??= admin.connect().catch((error: unknown) => {
        connected = undefined;
        throw error;
      });
      await connected;
      const cluster = await admin.describeCluster();
      return `${cluster.brokers.length} broker(s), controller ${cluster.controller ?? 'unknown'}`;
    },
  };
}
