import { DynamicModule, Module } from '@nestjs/common';
import {
  HealthController,
  JsonLogger,
  KAFKA_CLIENT,
  KafkaModule,
  kafkaReadinessCheck,
  READINESS_CHECKS,
} from '@tenantlab/shared';
import type { Kafka } from 'kafkajs';
import { ComponentsModule } from './components/components.module';
import { StatusConsumer } from './components/status.consumer';
import { TELEMETRY_CONFIG, TelemetryConfig } from './config/telemetry.config';

@Module({})
export class AppModule {
  static forRoot(config: TelemetryConfig, logger: JsonLogger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        KafkaModule.forRoot({ clientId: 'telemetry', brokers: config.KAFKA_BROKERS, logger }),
        ComponentsModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: TELEMETRY_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        {
          provide: READINESS_CHECKS,
          inject: [KAFKA_CLIENT, StatusConsumer],
          useFactory: (kafka: Kafka, consumer: StatusConsumer) => [
            kafkaReadinessCheck(kafka),
            consumer.readinessCheck(),
          ],
        },
      ],
      exports: [TELEMETRY_CONFIG, JsonLogger],
    };
  }
}
