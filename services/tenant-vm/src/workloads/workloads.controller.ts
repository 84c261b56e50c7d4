import { Body, Controller, Get, Post } from '@nestjs/common';
import { EchoWorkloadDto, PingWorkloadDto, SendWorkloadDto } from './dto/workload.dto';
import { type PingReport, type SendReport, WorkloadsService } from './workloads.service';

/** Drives this VM's built-in workloads: `POST /workloads/echo`, `/workloads/send`, `/workloads/ping`. */
@Controller('workloads')
export class WorkloadsController {
  constructor(private readonly workloads: WorkloadsService) {}

  @Get()
  list(): { echo: string[] } {
    return { echo: this.workloads.echoServices() };
  }

  @Post('echo')
  echo(@Body() body: EchoWorkloadDto): Promise<{ service: string }> {
    return this.workloads.echo(body);
  }

  @Post('send')
  send(@Body() body: SendWorkloadDto): Promise<SendReport> {
    return this.workloads.send(body);
  }

  @Post('ping')
  ping(@Body() body: PingWorkloadDto): Promise<PingReport> {
    return this.workloads.ping(body);
  }
}
