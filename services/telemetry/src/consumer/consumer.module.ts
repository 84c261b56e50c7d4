import { Module } from '@nestjs/common';
import { ComponentsModule } from '../components/components.module';
import { EventsModule } from '../events/events.module';
import { TracesModule } from '../traces/traces.module';
import { TelemetryConsumer } from './telemetry.consumer';
import { TelemetryMetrics } from './telemetry.metrics';

@Module({
  imports: [ComponentsModule, TracesModule, EventsModule],
  providers: [TelemetryConsumer, TelemetryMetrics],
  exports: [TelemetryConsumer],
})
export class ConsumerModule {}
