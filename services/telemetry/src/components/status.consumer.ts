import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { context, SpanKind, trace } from '@opentelemetry/api';
import {
  extractTraceFromKafkaHeaders,
  JsonLogger,
  KAFKA_CLIENT,
  parseComponentStatus,
  ReadinessCheck,
  TOPICS,
} from '@tenantlab/shared';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { TELEMETRY_CONFIG, TelemetryConfig } from '../config/telemetry.config';
import { ComponentsService } from './components.service';

const tracer = trace.getTracer('tenantlab.telemetry');

/**
 * Consumes `components.status`. Every value is validated; garbage is counted with its reason and skipped, never
 * allowed to stop the consumer (a poison message would otherwise block the partition forever).
 */
@Injectable()
export class StatusConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly consumer: Consumer;
  private joined = false;
  private lastError: string | undefined;

  constructor(
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    @Inject(TELEMETRY_CONFIG) config: TelemetryConfig,
    private readonly components: ComponentsService,
    private readonly logger: JsonLogger,
  ) {
    this.consumer = kafka.consumer({ groupId: config.KAFKA_GROUP_ID, allowAutoTopicCreation: true });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.joined = true;
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.joined = false;
      this.lastError = event.payload.error.message;
    });
  }

  onApplicationBootstrap(): void {
    // Not awaited: the service must answer /health while Kafka is still starting; kafkajs retries and restarts.
    this.start().catch((error: unknown) => {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.logger.record('error', `status consumer failed to start: ${this.lastError}`, { context: 'consumer' });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // disconnect() waits for the message being handled, then commits and leaves the group.
    await this.consumer.disconnect();
  }

  readinessCheck(): ReadinessCheck {
    return {
      name: 'status-consumer',
      check: async () => {
        if (!this.joined) throw new Error(`not in consumer group yet${this.lastError ? `: ${this.lastError}` : ''}`);
        return `consuming ${TOPICS.componentStatus}`;
      },
    };
  }

  private async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: TOPICS.componentStatus, fromBeginning: false });
    await this.consumer.run({ eachMessage: (payload) => this.handle(payload) });
  }

  private async handle({ partition, message }: EachMessagePayload): Promise<void> {
    const parent = extractTraceFromKafkaHeaders(message.headers);
    const span = tracer.startSpan(`${TOPICS.componentStatus} process`, { kind: SpanKind.CONSUMER }, parent);
    context.with(trace.setSpan(parent, span), () => {
      const parsed = parseComponentStatus(message.value);
      if (parsed.ok) {
        this.components.record(parsed.value, span.spanContext().traceId);
      } else {
        this.components.reject(partition, message.offset, parsed.reason);
        span.setAttribute('tenantlab.rejected_reason', parsed.reason);
        this.logger.record('warn', `rejected message at offset ${message.offset}: ${parsed.reason}`, {
          context: 'consumer',
        });
      }
    });
    span.end();
  }
}
