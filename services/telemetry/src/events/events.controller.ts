import { Controller, Get, Param, Query } from '@nestjs/common';
import type { ProgramEventMessage } from '@tenantlab/shared';
import { idParam } from '@tenantlab/shared';
import { limitParam } from '../common/request-params';
import { EventsService } from './events.service';

/** Tenant programs' reported events for the people running the lab: counts per tenant, and a tenant's latest. */
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  summary(): ReturnType<EventsService['summary']> {
    return this.events.summary();
  }

  @Get(':tenant')
  latest(
    @Param('tenant') tenant: string,
    @Query('limit') limit?: string,
    @Query('event') event?: string,
  ): { tenant: string; events: ProgramEventMessage[] } {
    return { tenant, events: this.events.latest(idParam('tenant', tenant), limitParam(limit), event) };
  }
}
