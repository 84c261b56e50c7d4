import { Module } from '@nestjs/common';
import { ImpairmentsController } from '../impairments/impairments.controller';
import { DataplaneController } from './dataplane.controller';
import { DataplaneService } from './dataplane.service';
import { TenantProgramsController } from './tenant-programs.controller';

@Module({
  controllers: [DataplaneController, TenantProgramsController, ImpairmentsController],
  providers: [DataplaneService],
  exports: [DataplaneService],
})
export class DataplaneModule {}
