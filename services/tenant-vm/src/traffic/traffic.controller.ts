import { Body, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { GenerateTrafficDto } from './dto/generate-traffic.dto';
import type { GenerateReport } from './traffic-generator';
import type { ReceivedReport } from './traffic-receiver';
import { TrafficService } from './traffic.service';

/** Frames over the vNIC: `POST /traffic/generate` sends, `GET|DELETE /traffic/received` reads or resets what came in. */
@Controller('traffic')
export class TrafficController {
  constructor(private readonly traffic: TrafficService) {}

  @Post('generate')
  generate(@Body() body: GenerateTrafficDto): Promise<GenerateReport> {
    return this.traffic.generate(body);
  }

  @Get('received')
  received(): ReceivedReport {
    return this.traffic.received();
  }

  @Delete('received')
  @HttpCode(204)
  reset(): void {
    this.traffic.resetReceived();
  }
}
