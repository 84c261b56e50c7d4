import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { JsonLogger } from '../logging';
import { injectTraceIntoKafkaHeaders } from '../trace-context';
import { ComponentState, ComponentStatusMessage, StatusComponent } from './component-status.message';
import { ensureTopics } from './ensure-topics';
import { KafkaStartupLogLevel } from './kafka-client.factory';
import { TOPICS } from './topics';

export interface ComponentStatusPublisherOptions {
  component: StatusComponent;
  intervalMs: number;
  /** Numbers and flags the component wants telemetry to show (queue depths, versions, ...). */
  details?: () => ComponentStatusMessage['details'];
}

/**
 * Publishes the component's heartbeat on `components.status` at a fixed interval, one span per message so the
 * consumer's processing joins the producer's trace. A failed send is logged and retried at the next tick: a
 * heartbeat is only worth sending fresh.
 */
export class ComponentStatusPublisher {
  readonly instance = randomUUID();
  private readonly producer: Producer;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private connected = false;
  private inFlight = false;
  private lastSentAt: number | undefined;
  private lastError: string | undefined;
  private readonly failureLevel = new KafkaStartupLogLevel();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ComponentStatusPublisherOptions,
    private readonly logger: JsonLogger,
  ) {
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  }

  /** Publishes now and then every interval. Never throws: while Kafka is away each tick retries the connection. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.publish('running'), this.options.intervalMs);
    await this.publish('running');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.connected) await this.publish('stopping');
    await this.producer.disconnect();
  }

  /** Used by readiness: the last heartbeat went out and is not older than three intervals. */
  health(): { ok: boolean; detail: string } {
    if (this.lastSentAt === undefined) return { ok: false, detail: this.lastError ?? 'no heartbeat sent yet' };
    const age = Date.now() - this.lastSentAt;
    const ok = age <= this.options.intervalMs * 3;
    return { ok, detail: ok ? `last heartbeat ${age} ms ago` : `last heartbeat ${age} ms ago: ${this.lastError}` };
  }

  private async publish(state: ComponentState): Promise<void> {
    // A slow broker must not pile up sends; the next tick carries fresher news anyway.
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      if (!this.connected) {
        await ensureTopics(this.kafka, [TOPICS.componentStatus]);
        await this.producer.connect();
        this.connected = true;
      }
      await this.send(state);
      this.failureLevel.markReached();
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      // Debug while the component starts and Kafka has not answered yet: readiness shows the wait meanwhile.
      this.logger.record(this.failureLevel.level(), `status heartbeat not published: ${this.lastError}`, {
        context: 'status',
      });
    } finally {
      this.inFlight = false;
    }
  }

  private async send(state: ComponentState): Promise<void> {
    const message: ComponentStatusMessage = {
      component: this.options.component,
      instance: this.instance,
      state,
      seq: this.seq++,
      sentAt: new Date().toISOString(),
      uptimeMs: Date.now() - this.startedAt,
      details: this.options.details?.() ?? {},
    };
    const tracer = trace.getTracer(`tenantlab.${this.options.component}`);
    const span = tracer.startSpan(`${TOPICS.componentStatus} publish`, {
      kind: SpanKind.PRODUCER,
      attributes: { 'tenantlab.component': message.component, 'tenantlab.status.seq': message.seq },
    });
    try {
      await context.with(trace.setSpan(context.active(), span), () =>
        this.producer.send({
          topic: TOPICS.componentStatus,
          messages: [{ key: this.instance, value: JSON.stringify(message), headers: injectTraceIntoKafkaHeaders({}) }],
        }),
      );
      this.lastSentAt = Date.now();
      this.lastError = undefined;
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  }
}
