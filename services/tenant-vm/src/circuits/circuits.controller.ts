import { Controller, Get } from '@nestjs/common';
import type { CircuitResetCount } from './circuit-resets';
import { CircuitSocketsService, type OpenCircuitView } from './circuit-sockets.service';
import { ApiAnswer, ApiErrors } from '@tenantlab/shared';
import { OPEN_CIRCUITS_SCHEMA } from '../openapi.schemas';

/** What circuits this VM has open right now, and how many ended in a reset (by code, with the last reason). */
@Controller('circuits')
// Every route needs the VM's control token (VmControlGuard).
@ApiErrors(401, 403)
export class CircuitsController {
  constructor(private readonly sockets: CircuitSocketsService) {}

  @Get()
  @ApiAnswer(200, OPEN_CIRCUITS_SCHEMA, 'open circuits and resets by code')
  list(): { circuits: OpenCircuitView[]; resets: Record<string, CircuitResetCount> } {
    return { circuits: this.sockets.list(), resets: this.sockets.resets() };
  }
}
