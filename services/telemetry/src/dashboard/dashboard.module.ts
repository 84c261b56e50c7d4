import { Module } from '@nestjs/common';
import { ComponentsModule } from '../components/components.module';
import { EventsModule } from '../events/events.module';
import { TracesModule } from '../traces/traces.module';
import { TELEMETRY_CONFIG } from '../config/telemetry.config';
import { DashboardAuthGuard, DashboardSessions } from './dashboard-auth';
import { DashboardCollector } from './dashboard-collector';
import { DASHBOARD_CONFIG } from './dashboard.config';
import { DashboardController } from './dashboard.controller';
import { DashboardStaticFiles } from './dashboard-static';
import { LabSources } from './lab-sources';
import { SseHub } from './sse-hub';

/**
 * The lab dashboard: static page (DashboardStaticFiles), login and sessions (DashboardSessions), data collection
 * (LabSources, DashboardCollector) and the live stream (SseHub). Its settings are part of telemetry's config.
 */
@Module({
  imports: [ComponentsModule, TracesModule, EventsModule],
  controllers: [DashboardController],
  providers: [
    { provide: DASHBOARD_CONFIG, useExisting: TELEMETRY_CONFIG },
    DashboardStaticFiles,
    DashboardSessions,
    DashboardAuthGuard,
    LabSources,
    SseHub,
    DashboardCollector,
  ],
})
export class DashboardModule {}
