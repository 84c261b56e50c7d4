import { DynamicModule, Module } from '@nestjs/common';
import {
  kafkaCredentialsOf,
  HealthController,
  JsonLogger,
  KAFKA_CLIENT,
  KafkaModule,
  kafkaReadinessCheck,
  READINESS_CHECKS,
  ServiceAuthModule,
  MetricsModule,
} from '@tenantlab/shared';
import type { Kafka } from 'kafkajs';
import { TELEMETRY_CONFIG, TelemetryConfig } from './config/telemetry.config';
import { ConsumerModule } from './consumer/consumer.module';
import { TelemetryConsumer } from './consumer/telemetry.consumer';
import { DashboardModule } from './dashboard/dashboard.module';

@Module({})
export class AppModule {
  static forRoot(config: TelemetryConfig, logger: JsonLogger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        MetricsModule.forRoot({ service: 'telemetry', tokenSha256: config.METRICS_TOKEN_SHA256 }),
        ServiceAuthModule.forRoot({ service: 'telemetry', callers: config.CALLER_TOKENS }),
        KafkaModule.forRoot({
          clientId: 'telemetry',
          brokers: config.KAFKA_BROKERS,
          logger,
          credentials: kafkaCredentialsOf(config),
        }),
        ConsumerModule,
        DashboardModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: TELEMETRY_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        {
          provide: READINESS_CHECKS,
          inject: [KAFKA_CLIENT, TelemetryConsumer],
          useFactory: (kafka: Kafka, consumer: TelemetryConsumer) => [
            kafkaReadinessCheck(kafka),
            consumer.readinessCheck(),
          ],
        },
      ],
      exports: [TELEMETRY_CONFIG, JsonLogger],
    };
  }
}
