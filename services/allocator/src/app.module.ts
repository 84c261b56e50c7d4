import { DynamicModule, Module } from '@nestjs/common';
import {
  kafkaCredentialsOf,
  ComponentStatusModule,
  ComponentStatusService,
  HealthController,
  JsonLogger,
  KAFKA_CLIENT,
  KafkaModule,
  kafkaReadinessCheck,
  READINESS_CHECKS,
  ServiceAuthModule,
  REDIS_CLIENT,
  RedisModule,
  redisReadinessCheck,
  MetricsModule,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { ALLOCATOR_CONFIG, AllocatorConfig } from './config/allocator.config';
import { PipelineModule } from './pipeline/pipeline.module';
import { PipelineService } from './pipeline/pipeline.service';
import { ReallocationModule } from './reallocation/reallocation.module';

@Module({})
export class AppModule {
  static forRoot(config: AllocatorConfig, logger: JsonLogger): DynamicModule {
    const statusModule = ComponentStatusModule.forRoot({
      component: 'allocator',
      intervalMs: config.STATUS_INTERVAL_MS,
    });
    return {
      module: AppModule,
      global: true,
      imports: [
        MetricsModule.forRoot({ service: 'allocator', tokenSha256: config.METRICS_TOKEN_SHA256 }),
        ServiceAuthModule.forRoot({ service: 'allocator', callers: config.CALLER_TOKENS }),
        RedisModule.forRoot({ url: config.REDIS_URL, connectionName: 'allocator', logger }),
        KafkaModule.forRoot({
          clientId: 'allocator',
          brokers: config.KAFKA_BROKERS,
          logger,
          credentials: kafkaCredentialsOf(config),
        }),
        statusModule,
        PipelineModule,
        ReallocationModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: ALLOCATOR_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        {
          provide: READINESS_CHECKS,
          inject: [REDIS_CLIENT, KAFKA_CLIENT, ComponentStatusService, PipelineService],
          useFactory: (redis: Redis, kafka: Kafka, status: ComponentStatusService, pipeline: PipelineService) => [
            redisReadinessCheck(redis),
            kafkaReadinessCheck(kafka),
            status.readinessCheck(),
            pipeline.readiness(),
          ],
        },
      ],
      exports: [ALLOCATOR_CONFIG, JsonLogger],
    };
  }
}
