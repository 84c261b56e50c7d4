import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  CONSUMER_GROUPS,
  ensureTopics,
  extractTraceFromKafkaHeaders,
  JsonLogger,
  KAFKA_CLIENT,
  KafkaStartupLogLevel,
  parseUtilityReport,
  TOPICS,
} from '@tenantlab/shared';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { ALLOCATOR_CONFIG, type AllocatorConfig } from '../config/allocator.config';
import { ReallocationLoop } from './reallocation-loop';

/**
 * Reads `allocator.utility-reports` in the allocator's own group, from where the group is (a report is worth only
 * its window). Every value is validated: garbage is counted with its reason, logged and skipped, never allowed to stop
 * the consumer. A window is decided once its reports stopped coming for REALLOCATION_SETTLE_MS (the switch publishes
 * a window's reports together) or a later window's arrive.
 */
@Injectable()
export class UtilityReportsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly consumer: Consumer;
  private joined = false;
  private stopped = false;
  private starting: Promise<void> | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private readonly failureLevel = new KafkaStartupLogLevel();

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(ALLOCATOR_CONFIG) private readonly config: AllocatorConfig,
    private readonly loop: ReallocationLoop,
    private readonly logger: JsonLogger,
  ) {
    this.consumer = kafka.consumer({ groupId: CONSUMER_GROUPS.allocator });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.joined = true;
      this.failureLevel.markReached();
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.joined = false;
      this.lastError = event.payload.error.message;
      this.logger.record(
        event.payload.restart ? this.failureLevel.level() : 'error',
        `utility report consumer ${event.payload.restart ? 'restarting' : 'stopped; restart the allocator'}: ${this.lastError}`,
        { context: 'reallocation' },
      );
    });
  }

  onApplicationBootstrap(): void {
    // Not awaited: the allocator serves its API while Kafka is still starting.
    this.starting = this.startWithRetry();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.settleTimer);
    await this.starting;
    await this.consumer.disconnect();
  }

  status(): { joined: boolean; lastError?: string } {
    return { joined: this.joined, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  private async startWithRetry(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await ensureTopics(this.kafka, [TOPICS.utilityReports]);
        await this.consumer.connect();
        await this.consumer.subscribe({ topics: [TOPICS.utilityReports], fromBeginning: false });
        await this.consumer.run({ eachMessage: (payload) => this.handle(payload) });
        return;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
        this.logger.record(
          this.failureLevel.level(),
          `utility report consumer not started (${this.lastError}); retrying`,
          {
            context: 'reallocation',
          },
        );
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5000)));
      }
    }
  }

  private handle({ partition, message }: EachMessagePayload): Promise<void> {
    const parsed = parseUtilityReport(message.value);
    if (!parsed.ok) {
      this.loop.reject(partition, message.offset, parsed.reason);
      this.logger.record(
        'warn',
        `skipped a message on ${TOPICS.utilityReports} at partition ${partition} offset ${message.offset}: ${parsed.reason}`,
        { context: 'reallocation' },
      );
      return Promise.resolve();
    }
    const link = trace.getSpanContext(extractTraceFromKafkaHeaders(message.headers, ROOT_CONTEXT));
    this.loop.take(parsed.value, link);
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.loop.decidePending(), this.config.REALLOCATION_SETTLE_MS);
    return Promise.resolve();
  }
}
