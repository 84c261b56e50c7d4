import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { OpenRoute } from './service-auth.guard';
import { READINESS_CHECKS, ReadinessCheck, ReadinessReport, runReadinessChecks } from './readiness';
import { ApiAnswer, strictObject } from './openapi';

/** Open to any caller (probes, Docker health checks): neither route shows tenant data. */
@Controller()
@OpenRoute()
export class HealthController {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[]) {}

  /** Liveness: the process answers. Never checks dependencies, so a Redis outage does not get the service killed. */
  @Get('health')
  @ApiAnswer(200, strictObject({ status: { type: 'string', enum: ['ok'] } }), 'the process answers')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers and nothing is left to converge; 503 with the failing checks or reasons. */
  @Get('ready')
  @ApiAnswer(200, { type: 'object', required: ['ready'] }, 'every dependency answers')
  @ApiAnswer(503, { type: 'object', required: ['ready'] }, 'a dependency does not answer; the report names it')
  async ready(@Res({ passthrough: true }) response: Response): Promise<ReadinessReport> {
    const report = await runReadinessChecks(this.checks);
    response.status(report.ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}
