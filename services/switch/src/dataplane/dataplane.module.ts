import { Module } from '@nestjs/common';
import { DataplaneController } from './dataplane.controller';
import { DataplaneService } from './dataplane.service';

@Module({
  controllers: [DataplaneController],
  providers: [DataplaneService],
  exports: [DataplaneService],
})
export class DataplaneModule {}
