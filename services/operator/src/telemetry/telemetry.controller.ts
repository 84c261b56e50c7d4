import { Controller, Get, Param, Query, Res, StreamableFile, UseGuards, UseInterceptors } from '@nestjs/common';
import type { Response } from 'express';
import { ForbiddenError } from '../auth/auth.errors';
import { TenantCallBudgetGuard } from '../auth/tenant-call-budget.guard';
import { TenantCallBudgetInterceptor } from '../auth/tenant-call-budget.interceptor';
import { CallerVm, VmAuthGuard } from '../auth/vm-auth.guard';
import type { VmRecord } from '../registry/vm-record';
import { TelemetryClient } from './telemetry.client';
import { ApiBearerAuth, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, PCAP_CONTENT } from '@tenantlab/shared';

/**
 * A tenant's own telemetry (packet traces, their pcap, program events), read from telemetry with the operator's
 * service credential. The bearer token says which VM is asking; a VM reads its own tenant's only (403 otherwise).
 */
@Controller('tenants/:tenant')
// A tenant already over its budget is refused before its call is authenticated (two Redis round trips saved).
@UseGuards(TenantCallBudgetGuard, VmAuthGuard)
@UseInterceptors(TenantCallBudgetInterceptor)
@ApiTags('telemetry')
@ApiBearerAuth('vm')
@ApiErrors(401, 403, 404, 429, 502)
export class TelemetryController {
  constructor(private readonly telemetry: TelemetryClient) {}

  @Get('traces')
  @ApiQuery({ name: 'limit', required: false })
  @ApiAnswer(200, { type: 'object' }, "the tenant's latest packet traces (telemetry's answer)")
  traces(
    @CallerVm() caller: VmRecord,
    @Param('tenant') tenant: string,
    @Query('limit') limit?: string,
  ): Promise<unknown> {
    return this.telemetry.traces(ownTenant(caller, tenant), { limit });
  }

  @Get('traces/pcap')
  @ApiResponse({ status: 200, description: "the tenant's captured frames", content: PCAP_CONTENT })
  async pcap(
    @CallerVm() caller: VmRecord,
    @Param('tenant') tenant: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<StreamableFile> {
    const pcap = await this.telemetry.pcap(ownTenant(caller, tenant));
    // Set here, not with @Header: that would label a refusal's JSON as a pcap file too.
    response.setHeader('content-type', 'application/vnd.tcpdump.pcap');
    response.setHeader('content-disposition', `attachment; filename="${caller.tenant}.pcap"`);
    response.setHeader('x-tenantlab-frames', pcap.frames);
    response.setHeader('x-tenantlab-traces-without-bytes', pcap.withoutBytes);
    return new StreamableFile(pcap.file);
  }

  @Get('events')
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'event', required: false })
  @ApiAnswer(200, { type: 'object' }, "the tenant's latest program events (telemetry's answer)")
  events(
    @CallerVm() caller: VmRecord,
    @Param('tenant') tenant: string,
    @Query('limit') limit?: string,
    @Query('event') event?: string,
  ): Promise<unknown> {
    return this.telemetry.events(ownTenant(caller, tenant), { limit, event });
  }
}

/** The path's tenant when it is the caller's own; another tenant's telemetry is refused. */
function ownTenant(caller: VmRecord, tenant: string): string {
  if (tenant !== caller.tenant) {
    throw new ForbiddenError(
      `VM ${caller.id} belongs to tenant ${caller.tenant}; it may read only that tenant's telemetry`,
    );
  }
  return caller.tenant;
}
