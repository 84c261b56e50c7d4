import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { ensureTopics, JsonLogger, KafkaStartupLogLevel, type KafkaHeaders } from '@tenantlab/shared';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';

export interface BatchPublisherStats {
  published: number;
  /** Dropped because the queue was full or Kafka refused them: forwarding never waits for Kafka. */
  dropped: number;
  queued: number;
  /** Records of the produce request in flight: neither published nor dropped yet. */
  sending: number;
  connected: boolean;
  lastError?: string;
}

/**
 * A bounded, batched, best-effort Kafka publisher for the switch. Records queue in memory up to a bound and leave in
 * one produce request per flush. While Kafka is unreachable nothing is queued: records are dropped and counted at
 * once, and a background loop keeps reconnecting. So the data path is never held up, nor made to grow, by telemetry.
 */
export class KafkaBatchPublisher<T> {
  private readonly producer: Producer;
  private queue: { key: string; value: T; headers?: KafkaHeaders }[] = [];
  private readonly stats = { published: 0, dropped: 0 };
  private lastError: string | undefined;
  private connected = false;
  private connecting: Promise<void> | undefined;
  private flushing = false;
  private sending = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly failureLevel = new KafkaStartupLogLevel();

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly maxQueued: number,
    private readonly flushIntervalMs: number,
    private readonly logger: JsonLogger,
    /**
     * Records carry their own trace context in their headers (packet traces: the packet's trace, issue 11). The
     * produce request then runs with tracing suppressed, so the Kafka instrumentation neither starts a publish span
     * nor overwrites that `traceparent` with one; a record without headers then goes without trace context.
     */
    private readonly ownTraceContext = false,
  ) {
    // One quick retry: a record that cannot go now is worth less than the next one.
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 1 } });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.reconnect();
  }

  publish(key: string, value: T, headers?: KafkaHeaders): void {
    if (!this.connected || this.queue.length >= this.maxQueued) {
      this.stats.dropped += 1;
      return;
    }
    this.queue.push(headers ? { key, value, headers } : { key, value });
  }

  snapshot(): BatchPublisherStats {
    return {
      ...this.stats,
      queued: this.queue.length,
      sending: this.sending,
      connected: this.connected,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.flush();
    await this.producer.disconnect().catch(() => undefined);
  }

  private reconnect(): void {
    this.connecting ??= this.connectLoop().finally(() => (this.connecting = undefined));
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped && !this.connected; attempt++) {
      try {
        await ensureTopics(this.kafka, [this.topic]);
        await this.producer.connect();
        this.connected = true;
        this.failureLevel.markReached();
        this.lastError = undefined;
      } catch (error) {
        this.noteError(error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 5000)));
      }
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing || !this.connected || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue;
    this.queue = [];
    this.sending = batch.length;
    try {
      const request = {
        topic: this.topic,
        messages: batch.map(({ key, value, headers }) => ({ key, value: JSON.stringify(value), headers })),
      };
      await (this.ownTraceContext
        ? context.with(suppressTracing(ROOT_CONTEXT), () => this.producer.send(request))
        : this.producer.send(request));
      this.stats.published += batch.length;
    } catch (error) {
      this.stats.dropped += batch.length;
      this.connected = false;
      this.noteError(error);
      if (!this.stopped) this.reconnect();
    } finally {
      this.sending = 0;
      this.flushing = false;
    }
  }

  private noteError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    // Before Kafka is first reached (a lab still starting) this is debug: the records dropped meanwhile are counted.
    if (message !== this.lastError) {
      this.logger.record(this.failureLevel.level(), `${this.topic}: Kafka unavailable, dropping records: ${message}`, {
        context: 'kafka',
      });
    }
    this.lastError = message;
  }
}
