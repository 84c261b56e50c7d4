import { Controller, Get } from '@nestjs/common';
import type { CircuitResetCount } from './circuit-resets';
import { CircuitSocketsService, type OpenCircuitView } from './circuit-sockets.service';

/** What circuits this VM has open right now, and how many ended in a reset (by code, with the last reason). */
@Controller('circuits')
export class CircuitsController {
  constructor(private readonly sockets: CircuitSocketsService) {}

  @Get()
  list(): { circuits: OpenCircuitView[]; resets: Record<string, CircuitResetCount> } {
    return { circuits: this.sockets.list(), resets: this.sockets.resets() };
  }
}
