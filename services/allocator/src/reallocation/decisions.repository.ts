import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  ensureTopics,
  KAFKA_CLIENT,
  type KafkaHeaders,
  type ReallocationDecisionMessage,
  TOPICS,
} from '@tenantlab/shared';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { DecisionSink } from './reallocation-loop';

/**
 * All Kafka output of the reallocation loop: each decision on `allocator.decisions`, keyed `allocator`, its headers
 * the decision span's context (or, where the kafkajs instrumentation runs, its publish span's: a child of it).
 */
@Injectable()
export class DecisionsRepository implements DecisionSink, OnApplicationShutdown {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(@Inject(KAFKA_CLIENT) private readonly kafka: Kafka) {
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 2 } });
  }

  async publish(decision: ReallocationDecisionMessage, headers: KafkaHeaders): Promise<void> {
    this.connected ??= ensureTopics(this.kafka, [TOPICS.reallocationDecisions])
      .then(() => this.producer.connect())
      .catch((error: unknown) => {
        this.connected = undefined;
        throw error;
      });
    await this.connected;
    await this.producer.send({
      topic: TOPICS.reallocationDecisions,
      messages: [{ key: 'allocator', value: JSON.stringify(decision), headers }],
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
