import { Module } from '@nestjs/common';
import { DataplaneController } from './dataplane.controller';
import { DataplaneService } from './dataplane.service';
import { TenantProgramsController } from './tenant-programs.controller';

@Module({
  controllers: [DataplaneController, TenantProgramsController],
  providers: [DataplaneService],
  exports: [DataplaneService],
})
export class DataplaneModule {}
