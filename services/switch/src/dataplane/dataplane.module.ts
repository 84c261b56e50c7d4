import { Module } from '@nestjs/common';
import { ImpairmentsController } from '../impairments/impairments.controller';
import { DataplaneController } from './dataplane.controller';
import { DataplaneService } from './dataplane.service';
import { SwitchMetrics } from './switch.metrics';
import { TenantProgramsController } from './tenant-programs.controller';

@Module({
  controllers: [DataplaneController, TenantProgramsController, ImpairmentsController],
  providers: [DataplaneService, SwitchMetrics],
  exports: [DataplaneService],
})
export class DataplaneModule {}
