import { Controller, Get } from '@nestjs/common';
import { CircuitSocketsService, type OpenCircuitView } from './circuit-sockets.service';

/** What circuits this VM has open right now, for labs and tests. */
@Controller('circuits')
export class CircuitsController {
  constructor(private readonly sockets: CircuitSocketsService) {}

  @Get()
  list(): { circuits: OpenCircuitView[] } {
    return { circuits: this.sockets.list() };
  }
}
