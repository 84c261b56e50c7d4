import { Module } from '@nestjs/common';
import { ComponentsModule } from '../components/components.module';
import { EventsModule } from '../events/events.module';
import { TracesModule } from '../traces/traces.module';
import { TelemetryConsumer } from './telemetry.consumer';

@Module({
  imports: [ComponentsModule, TracesModule, EventsModule],
  providers: [TelemetryConsumer],
  exports: [TelemetryConsumer],
})
export class ConsumerModule {}
