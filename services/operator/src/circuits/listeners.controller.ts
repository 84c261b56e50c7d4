import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ValidationError } from '@tenantlab/shared';
import { CallerVm, VmAuthGuard } from '../auth/vm-auth.guard';
import { TenantTurnsGuard } from '../fairness/tenant-turns.guard';
import type { VmRecord } from '../registry/vm-record';
import { SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from './circuit-policy';
import type { Listener } from './circuit-record';
import { ListenDto } from './dto/listen.dto';
import { ListenersService } from './listeners.service';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, strictObject } from '@tenantlab/shared';
import { LISTENER_SCHEMA } from '../openapi.schemas';

/** The services a VM listens on; the bearer token says which VM is asking. */
@Controller('listeners')
// Its tenant's turn first (TenantTurnsGuard), then who it is: authenticating is work a flood must wait for.
@UseGuards(TenantTurnsGuard, VmAuthGuard)
@ApiTags('circuits')
@ApiBearerAuth('vm')
// 429: more of its tenant's calls wait for their turn than may (TenantTurnsGuard).
@ApiErrors(401, 403, 429)
export class ListenersController {
  constructor(private readonly listeners: ListenersService) {}

  @Post()
  @ApiAnswer(201, LISTENER_SCHEMA, 'listening')
  @ApiErrors(409, 429)
  listen(@CallerVm() caller: VmRecord, @Body() body: ListenDto): Promise<Listener> {
    return this.listeners.listen(caller, body.service);
  }

  @Get()
  @ApiAnswer(200, strictObject({ listeners: { type: 'array', items: LISTENER_SCHEMA } }), "the caller's services")
  async list(@CallerVm() caller: VmRecord): Promise<{ listeners: Listener[] }> {
    return { listeners: await this.listeners.list(caller) };
  }

  @Delete(':service')
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'no longer listening')
  @ApiErrors(404)
  unlisten(@CallerVm() caller: VmRecord, @Param('service') service: string): Promise<void> {
    if (!SERVICE_NAME_PATTERN.test(service)) {
      throw new ValidationError(`service is invalid: it ${SERVICE_NAME_RULE}`, [`service: ${SERVICE_NAME_RULE}`]);
    }
    return this.listeners.unlisten(caller, service);
  }
}
