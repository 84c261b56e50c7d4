import { Body, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { GenerateTrafficDto } from './dto/generate-traffic.dto';
import { ReplayFramesDto } from './dto/replay-frames.dto';
import type { ReplayReport } from './frame-replayer';
import type { GenerateReport } from './traffic-generator';
import type { ReceivedReport } from './traffic-receiver';
import { TrafficService } from './traffic.service';
import { ApiAnswer, ApiErrors } from '@tenantlab/shared';
import { GENERATE_REPORT_SCHEMA, REPLAY_REPORT_SCHEMA } from '../openapi.schemas';

/**
 * Frames over the vNIC: `POST /traffic/generate` builds and sends, `POST /traffic/replay` sends recorded frames,
 * `GET|DELETE /traffic/received` reads or resets what came in.
 */
@Controller('traffic')
// Every route needs the VM's control token (VmControlGuard).
@ApiErrors(401, 403)
export class TrafficController {
  constructor(private readonly traffic: TrafficService) {}

  @Post('generate')
  @ApiAnswer(201, GENERATE_REPORT_SCHEMA, 'frames sent')
  @ApiErrors(409)
  generate(@Body() body: GenerateTrafficDto): Promise<GenerateReport> {
    return this.traffic.generate(body);
  }

  @Post('replay')
  @ApiAnswer(201, REPLAY_REPORT_SCHEMA, 'frames sent, paced at their offsets')
  @ApiErrors(409)
  replay(@Body() body: ReplayFramesDto): Promise<ReplayReport> {
    return this.traffic.replay(body);
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
