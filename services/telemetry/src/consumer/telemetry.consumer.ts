import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { context, SpanKind, trace } from '@opentelemetry/api';
import {
  ensureTopics,
  extractTraceFromKafkaHeaders,
  JsonLogger,
  KAFKA_CLIENT,
  KafkaStartupLogLevel,
  parseComponentStatus,
  parseProgramEvent,
  parseTraceTopicMessage,
  type ParseResult,
  ReadinessCheck,
  TOPICS,
} from '@tenantlab/shared';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { ComponentsService } from '../components/components.service';
import { TELEMETRY_CONFIG, TelemetryConfig } from '../config/telemetry.config';
import { EventsService } from '../events/events.service';
import { TracesService } from '../traces/traces.service';

const tracer = trace.getTracer('tenantlab.telemetry');

/** What telemetry does with a topic's messages: validate each one, then keep it or count it as rejected. */
interface TopicHandler {
  /** Returns the reason a message was refused, or undefined when it was taken. */
  take(value: Buffer | null, traceId: string): string | undefined;
  reject(partition: number, offset: string, reason: string): void;
}

/** kafkajs's offset for "the partition's earliest message". */
const EARLIEST_OFFSET = '-2';

/** The topics telemetry reads. */
export const TOPICS_READ = [TOPICS.componentStatus, TOPICS.packetTraces, TOPICS.programEvents] as const;

/**
 * Consumes `components.status` (component heartbeats), `switch.packet-traces` (sampled and mirrored frames) and
 * `switch.program-events` (what tenant programs report) in one consumer group. Every value is validated; garbage is
 * counted with its reason and skipped, never allowed to stop the consumer (a poison message would otherwise block the
 * partition forever).
 */
@Injectable()
export class TelemetryConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly consumer: Consumer;
  private joined = false;
  private heartbeatsReread = false;
  private stopped = false;
  private starting: Promise<void> | undefined;
  private lastError: string | undefined;
  private readonly failureLevel = new KafkaStartupLogLevel();
  /** Per topic and partition, the offset after the last message handled: where the consumer is (for its lag). */
  private readonly handled = new Map<string, Map<number, number>>();

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(TELEMETRY_CONFIG) config: TelemetryConfig,
    private readonly components: ComponentsService,
    private readonly traces: TracesService,
    private readonly events: EventsService,
    private readonly logger: JsonLogger,
  ) {
    this.consumer = kafka.consumer({ groupId: config.KAFKA_GROUP_ID, allowAutoTopicCreation: true });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.failureLevel.markReached();
      this.rereadHeartbeats(payload.memberAssignment);
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.joined = false;
      this.lastError = event.payload.error.message;
      // kafkajs's own lines about it are debug (kafkaLogLevel): this says what it means for telemetry.
      if (event.payload.restart) {
        this.logger.record(this.failureLevel.level(), `telemetry consumer restarting: ${this.lastError}`, {
          context: 'consumer',
        });
      } else {
        this.logger.record('error', `telemetry consumer stopped: ${this.lastError}; restart telemetry`, {
          context: 'consumer',
        });
      }
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
      name: 'telemetry-consumer',
      check: async () => {
        if (!this.joined) throw new Error(`not in consumer group yet${this.lastError ? `: ${this.lastError}` : ''}`);
        return `consuming ${TOPICS_READ.join(', ')}`;
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
        // Debug while Kafka settles at a lab's start (readiness says "not in consumer group yet" meanwhile).
        this.logger.record(this.failureLevel.level(), `telemetry consumer not started (${this.lastError}); retrying`, {
          context: 'consumer',
        });
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5000)));
      }
    }
  }

  private async start(): Promise<void> {
    await ensureTopics(this.kafka, [...TOPICS_READ]);
    await this.consumer.connect();
    // Heartbeats are read from the topic's start: those sent before telemetry joined (the services start together,
    // and a restarted telemetry's group resumes where the last one stopped) are on the topic, not missing. Traces and
    // events are read from where the group is.
    await this.consumer.subscribe({ topics: [TOPICS.componentStatus], fromBeginning: true });
    await this.consumer.subscribe({ topics: [TOPICS.packetTraces, TOPICS.programEvents], fromBeginning: false });
    await this.consumer.run({ eachMessage: (payload) => this.handle(payload) });
  }

  /**
   * At this process's first join, its heartbeat partitions go back to their earliest offset, so its view of the
   * components holds every heartbeat still on the topic, whatever the group had committed; ComponentsService skips
   * any it has already seen.
   */
  private rereadHeartbeats(assignment: Record<string, number[]>): void {
    if (this.heartbeatsReread) return;
    this.heartbeatsReread = true;
    for (const partition of assignment[TOPICS.componentStatus] ?? []) {
      this.consumer.seek({ topic: TOPICS.componentStatus, partition, offset: EARLIEST_OFFSET });
    }
  }

  private readonly handlers: Record<(typeof TOPICS_READ)[number], TopicHandler> = {
    [TOPICS.componentStatus]: topicHandler(
      parseComponentStatus,
      (status, traceId) => this.components.record(status, traceId),
      (partition, offset, reason) => this.components.reject(partition, offset, reason),
    ),
    [TOPICS.packetTraces]: topicHandler(
      parseTraceTopicMessage,
      (message) => this.traces.record(message),
      (partition, offset, reason) => this.traces.rejected.add(partition, offset, reason),
    ),
    [TOPICS.programEvents]: topicHandler(
      parseProgramEvent,
      (event) => this.events.record(event),
      (partition, offset, reason) => this.events.rejected.add(partition, offset, reason),
    ),
  };

  /** Per topic and partition, the offset of the next message this consumer will handle, as far as it has handled. */
  positions(): ReadonlyMap<string, ReadonlyMap<number, number>> {
    return this.handled;
  }

  private async handle({ topic, partition, message }: EachMessagePayload): Promise<void> {
    let positions = this.handled.get(topic);
    if (!positions) this.handled.set(topic, (positions = new Map<number, number>()));
    positions.set(partition, Number(message.offset) + 1);
    const handler = this.handlers[topic as (typeof TOPICS_READ)[number]] as TopicHandler | undefined;
    if (handler === undefined) return;
    // Traces and events can come thousands a second: a span each would swamp Jaeger, so only heartbeats get one.
    if (topic !== TOPICS.componentStatus) {
      const reason = handler.take(message.value, '');
      if (reason !== undefined) this.refuse(handler, topic, partition, message.offset, reason);
      return;
    }
    const parent = extractTraceFromKafkaHeaders(message.headers);
    const span = tracer.startSpan(`${topic} process`, { kind: SpanKind.CONSUMER }, parent);
    context.with(trace.setSpan(parent, span), () => {
      const reason = handler.take(message.value, span.spanContext().traceId);
      if (reason !== undefined) {
        span.setAttribute('tenantlab.rejected_reason', reason);
        this.refuse(handler, topic, partition, message.offset, reason);
      }
    });
    span.end();
  }

  private refuse(handler: TopicHandler, topic: string, partition: number, offset: string, reason: string): void {
    handler.reject(partition, offset, reason);
    this.logger.record('warn', `rejected message on ${topic} at offset ${offset}: ${reason}`, { context: 'consumer' });
  }
}

/** A topic's handler from its parser, what to do with a valid message, and where refusals are counted. */
function topicHandler<T>(
  parse: (value: Buffer | null) => ParseResult<T>,
  keep: (message: T, traceId: string) => void,
  reject: TopicHandler['reject'],
): TopicHandler {
  return {
    take: (value, traceId) => {
      const parsed = parse(value);
      if (!parsed.ok) return parsed.reason;
      keep(parsed.value, traceId);
      return undefined;
    },
    reject,
  };
}
