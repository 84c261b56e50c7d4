import { Module } from '@nestjs/common';
import { CircuitsModule } from '../circuits/circuits.module';
import { WorkloadsController } from './workloads.controller';
import { WorkloadsService } from './workloads.service';

@Module({
  imports: [CircuitsModule],
  controllers: [WorkloadsController],
  providers: [WorkloadsService],
})
export class WorkloadsModule {}
