import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module';
import { TelemetryClient } from './telemetry.client';
import { TelemetryController } from './telemetry.controller';

@Module({
  imports: [RegistryModule],
  controllers: [TelemetryController],
  providers: [TelemetryClient],
})
export class TelemetryModule {}
