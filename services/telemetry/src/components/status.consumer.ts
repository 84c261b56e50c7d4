import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { context, SpanKind, trace } from '@opentelemetry/api';
import {
  ensureTopics,
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
  private stopped = false;
  private starting: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
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
    // Not awaited: the service must answer /health (and say why it is not ready) while Kafka is still starting.
    this.starting = this.startWithRetry();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.starting;
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

  private async startWithRetry(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.start();
        return;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
        this.logger.record('warn', `status consumer not started (${this.lastError}); retrying`, {
          context: 'consumer',
        });
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5000)));
      }
    }
  }

  private async start(): Promise<void> {
    await ensureTopics(this.kafka, [TOPICS.componentStatus]);
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
