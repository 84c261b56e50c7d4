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
import { SWITCH_CONFIG, SwitchConfig } from './config/switch.config';
import { DataplaneModule } from './dataplane/dataplane.module';
import { DataplaneService } from './dataplane/dataplane.service';

@Module({})
export class AppModule {
  static forRoot(config: SwitchConfig, logger: JsonLogger): DynamicModule {
    const statusModule = ComponentStatusModule.forRoot({ component: 'switch', intervalMs: config.STATUS_INTERVAL_MS });
    return {
      module: AppModule,
      global: true,
      imports: [
        MetricsModule.forRoot({ service: 'switch', tokenSha256: config.METRICS_TOKEN_SHA256 }),
        ServiceAuthModule.forRoot({ service: 'switch', callers: config.CALLER_TOKENS }),
        RedisModule.forRoot({ url: config.REDIS_URL, connectionName: 'switch', logger }),
        KafkaModule.forRoot({
          clientId: 'switch',
          brokers: config.KAFKA_BROKERS,
          logger,
          credentials: kafkaCredentialsOf(config),
        }),
        statusModule,
        DataplaneModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: SWITCH_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        {
          provide: READINESS_CHECKS,
          inject: [REDIS_CLIENT, KAFKA_CLIENT, ComponentStatusService, DataplaneService],
          useFactory: (redis: Redis, kafka: Kafka, status: ComponentStatusService, dataplane: DataplaneService) => [
            { ...redisReadinessCheck(redis), degraded: () => dataplane.degradedReasons() },
            kafkaReadinessCheck(kafka),
            status.readinessCheck(),
          ],
        },
      ],
      exports: [SWITCH_CONFIG, JsonLogger],
    };
  }
}
