import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { KAFKA_CLIENT, METRICS_REGISTRY, type Sample, scrapedCounter, scrapedGauge } from '@tenantlab/shared';
import type { Admin, Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { TELEMETRY_CONFIG, type TelemetryConfig } from '../config/telemetry.config';
import { TracesService } from '../traces/traces.service';
import { TelemetryConsumer, TOPICS_READ } from './telemetry.consumer';

type LagLabel = 'topic' | 'partition';

/**
 * Telemetry's metrics: the consumer's lag per topic and partition (the topic's end offset, asked of Kafka at each
 * scrape, minus where the consumer is: the last message it handled, else the group's committed offset), and the
 * per-tenant trace figures it keeps (`GET /traces`). A scrape while Kafka does not answer shows no lag series.
 */
@Injectable()
export class TelemetryMetrics implements OnApplicationShutdown {
  private admin: Admin | undefined;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(TELEMETRY_CONFIG) private readonly config: TelemetryConfig,
    private readonly consumer: TelemetryConsumer,
    traces: TracesService,
  ) {
    scrapedGauge({
      registry,
      name: 'tenantlab_telemetry_consumer_lag_messages',
      help: "Messages on the topic's partition that telemetry's consumer has not handled yet.",
      labelNames: ['topic', 'partition'],
      read: () => this.lag().catch((): Sample<LagLabel>[] => []),
    });
    scrapedCounter({
      registry,
      name: 'tenantlab_telemetry_traces_total',
      help: 'Packet traces of the tenant telemetry took from switch.packet-traces.',
      labelNames: ['tenant'],
      read: () =>
        Object.entries(traces.summary().tenants).map(([tenant, figures]): Sample<'tenant'> => [
          { tenant },
          figures.traces,
        ]),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin?.disconnect();
  }

  private async lag(): Promise<Sample<LagLabel>[]> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const admin = this.admin;
    const committed = await admin.fetchOffsets({ groupId: this.config.KAFKA_GROUP_ID, topics: [...TOPICS_READ] });
    const samples: Sample<LagLabel>[] = [];
    for (const topic of TOPICS_READ) {
      const handled = this.consumer.positions().get(topic);
      const groupOffsets = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
      for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
        const end = Number(high);
        const groupOffset = Number(groupOffsets.find((entry) => entry.partition === partition)?.offset ?? -1);
        // Nothing handled and nothing committed: the group starts at the end (or reads from the start at once).
        const position = handled?.get(partition) ?? (groupOffset >= 0 ? groupOffset : end);
        samples.push([{ topic, partition: String(partition) }, Math.max(0, end - position)]);
      }
    }
    return samples;
  }
}
