import { Module } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { JsonLogger } from '@tenantlab/shared';
import { ALLOCATOR_CONFIG, type AllocatorConfig } from '../config/allocator.config';
import { PipelineModule } from '../pipeline/pipeline.module';
import { PipelineService } from '../pipeline/pipeline.service';
import { DecisionsRepository } from './decisions.repository';
import { ReallocationController } from './reallocation.controller';
import { ReallocationLoop } from './reallocation-loop';
import { UtilityReportsConsumer } from './utility-reports.consumer';

@Module({
  imports: [PipelineModule],
  controllers: [ReallocationController],
  providers: [
    DecisionsRepository,
    UtilityReportsConsumer,
    {
      provide: ReallocationLoop,
      inject: [PipelineService, DecisionsRepository, ALLOCATOR_CONFIG, JsonLogger],
      useFactory: (
        pipelines: PipelineService,
        decisions: DecisionsRepository,
        config: AllocatorConfig,
        logger: JsonLogger,
      ) =>
        new ReallocationLoop(
          pipelines,
          decisions,
          trace.getTracer('tenantlab.allocator'),
          {
            mode: config.ALLOCATOR_REALLOCATION,
            stages: config.SWITCH_STAGES,
            cellsPerStage: config.REGISTER_CELLS_PER_STAGE,
            quotaRegisterBits: config.TENANT_QUOTA_REGISTER_BITS,
          },
          logger,
        ),
    },
  ],
})
export class ReallocationModule {}
