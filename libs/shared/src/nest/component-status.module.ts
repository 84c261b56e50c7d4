import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { ComponentStatusPublisher, ComponentStatusPublisherOptions } from '../kafka';
import { JsonLogger } from '../logging';
import { KAFKA_CLIENT } from './kafka.module';
import type { ReadinessCheck } from './readiness';

const STATUS_OPTIONS = Symbol('STATUS_OPTIONS');

/** Owns the publisher's lifecycle: starts publishing once the app is up, says "stopping" and disconnects on shutdown. */
@Injectable()
export class ComponentStatusService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly publisher: ComponentStatusPublisher;

  constructor(
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    @Inject(STATUS_OPTIONS) options: ComponentStatusPublisherOptions,
    logger: JsonLogger,
  ) {
    this.publisher = new ComponentStatusPublisher(kafka, options, logger);
  }

  onApplicationBootstrap(): void {
    // Not awaited: a service must come up (and report not-ready) while Kafka is still starting.
    void this.publisher.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.publisher.stop().catch(() => undefined);
  }

  readinessCheck(): ReadinessCheck {
    return {
      name: 'status-heartbeat',
      check: async () => {
        const { ok, detail } = this.publisher.health();
        if (!ok) throw new Error(detail);
        return detail;
      },
    };
  }
}

@Module({})
export class ComponentStatusModule {
  static forRoot(options: ComponentStatusPublisherOptions): DynamicModule {
    return {
      module: ComponentStatusModule,
      providers: [{ provide: STATUS_OPTIONS, useValue: options }, ComponentStatusService],
      exports: [ComponentStatusService],
    };
  }
}
