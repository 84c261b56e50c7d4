import { context, SpanKind, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { JsonLogger } from '../logging';
import { injectTraceIntoKafkaHeaders } from '../trace-context';
import { ComponentState, ComponentStatusMessage, StatusComponent } from './component-status.message';
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
  private lastSentAt: number | undefined;
  private lastError: string | undefined;

  constructor(
    kafka: Kafka,
    private readonly options: ComponentStatusPublisherOptions,
    private readonly logger: JsonLogger,
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: true });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.publish('running');
    this.timer = setInterval(() => void this.publish('running'), this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.publish('stopping');
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
      this.lastError = error instanceof Error ? error.message : String(error);
      span.recordException(error instanceof Error ? error : new Error(this.lastError));
      this.logger.record('warn', `status heartbeat not published: ${this.lastError}`, { context: 'status' });
    } finally {
      span.end();
    }
  }
}
