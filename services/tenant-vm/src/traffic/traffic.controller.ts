import { Body, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { GenerateTrafficDto } from './dto/generate-traffic.dto';
import type { GenerateReport } from './traffic-generator';
import type { ReceivedReport } from './traffic-receiver';
import { TrafficService } from './traffic.service';
import { ApiAnswer, ApiErrors } from '@tenantlab/shared';
import { GENERATE_REPORT_SCHEMA } from '../openapi.schemas';

/** Frames over the vNIC: `POST /traffic/generate` sends, `GET|DELETE /traffic/received` reads or resets what came in. */
@Controller('traffic')
export class TrafficController {
  constructor(private readonly traffic: TrafficService) {}

  @Post('generate')
  @ApiAnswer(201, GENERATE_REPORT_SCHEMA, 'frames sent')
  @ApiErrors(409)
  generate(@Body() body: GenerateTrafficDto): Promise<GenerateReport> {
    return this.traffic.generate(body);
  }

  @Get('received')
  @ApiAnswer(200, { type: 'object', required: ['total', 'bySource', 'latencyUs', 'rejected'] }, 'what came in')
  received(): ReceivedReport {
    return this.traffic.received();
  }

  @Delete('received')
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'counts reset')
  reset(): void {
    this.traffic.resetReceived();
  }
}
