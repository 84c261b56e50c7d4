import { Module } from '@nestjs/common';
import { AllocatorMetrics } from './allocator.metrics';
import { PipelineController } from './pipeline.controller';
import { PipelineRepository } from './pipeline.repository';
import { CLOCK, PipelineService } from './pipeline.service';

@Module({
  controllers: [PipelineController],
  providers: [AllocatorMetrics, PipelineRepository, PipelineService, { provide: CLOCK, useValue: () => Date.now() }],
  exports: [PipelineService],
})
export class PipelineModule {}
