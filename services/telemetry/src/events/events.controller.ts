import { Controller, Get, Param, Query } from '@nestjs/common';
import type { ProgramEventMessage } from '@tenantlab/shared';
import { idParam } from '@tenantlab/shared';
import { limitParam } from '../common/request-params';
import { EventsService } from './events.service';
import { ApiQuery } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, strictObject } from '@tenantlab/shared';

/** Tenant programs' reported events for the people running the lab: counts per tenant, and a tenant's latest. */
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiAnswer(200, { type: 'object' }, 'event counts per tenant')
  summary(): ReturnType<EventsService['summary']> {
    return this.events.summary();
  }

  @Get(':tenant')
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'event', required: false })
  @ApiAnswer(
    200,
    strictObject({ tenant: { type: 'string' }, events: { type: 'array', items: { type: 'object' } } }),
    "the tenant's latest events",
  )
  @ApiErrors(404)
  latest(
    @Param('tenant') tenant: string,
    @Query('limit') limit?: string,
    @Query('event') event?: string,
  ): { tenant: string; events: ProgramEventMessage[] } {
    return { tenant, events: this.events.latest(idParam('tenant', tenant), limitParam(limit), event) };
  }
}
