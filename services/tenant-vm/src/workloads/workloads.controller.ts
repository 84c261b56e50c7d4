import { Body, Controller, Get, Post } from '@nestjs/common';
import { EchoWorkloadDto, PingWorkloadDto, SendWorkloadDto } from './dto/workload.dto';
import { type PingReport, type SendReport, WorkloadsService } from './workloads.service';
import { ApiAnswer, ApiErrors, strictObject } from '@tenantlab/shared';
import { PING_REPORT_SCHEMA, SEND_REPORT_SCHEMA } from '../openapi.schemas';

/** Drives this VM's built-in workloads: `POST /workloads/echo`, `/workloads/send`, `/workloads/ping`. */
@Controller('workloads')
// Every route needs the VM's control token (VmControlGuard).
@ApiErrors(401, 403)
export class WorkloadsController {
  constructor(private readonly workloads: WorkloadsService) {}

  @Get()
  @ApiAnswer(200, strictObject({ echo: { type: 'array', items: { type: 'string' } } }), 'the echo services running')
  list(): { echo: string[] } {
    return { echo: this.workloads.echoServices() };
  }

  @Post('echo')
  @ApiAnswer(201, strictObject({ service: { type: 'string' } }), 'echoing on the service')
  @ApiErrors(409, 502)
  echo(@Body() body: EchoWorkloadDto): Promise<{ service: string }> {
    return this.workloads.echo(body);
  }

  @Post('send')
  @ApiAnswer(201, SEND_REPORT_SCHEMA, 'sent and echoed back')
  @ApiErrors(403, 404, 409, 429, 502)
  send(@Body() body: SendWorkloadDto): Promise<SendReport> {
    return this.workloads.send(body);
  }

  @Post('ping')
  @ApiAnswer(201, PING_REPORT_SCHEMA, 'round trips measured')
  @ApiErrors(403, 404, 409, 429, 502)
  ping(@Body() body: PingWorkloadDto): Promise<PingReport> {
    return this.workloads.ping(body);
  }
}
