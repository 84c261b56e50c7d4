import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiAnswer } from '@tenantlab/shared';
import { ReallocationLoop, type ReallocationStatus } from './reallocation-loop';
import { UtilityReportsConsumer } from './utility-reports.consumer';

@Controller()
@ApiTags('reallocation')
export class ReallocationController {
  constructor(
    private readonly loop: ReallocationLoop,
    private readonly consumer: UtilityReportsConsumer,
  ) {}

  /** Seed 004's loop: mode, reports taken and refused, the last decision, decision-to-installed latency. */
  @Get('reallocation')
  @ApiAnswer(
    200,
    { type: 'object' },
    'the run-time reallocation loop: mode, reports, decisions, re-links and decision-to-installed latency',
  )
  reallocation(): ReallocationStatus & { consumer: { joined: boolean; lastError?: string } } {
    return { ...this.loop.status(), consumer: this.consumer.status() };
  }
}
