import { Controller, Get, Param, Query, Res, StreamableFile } from '@nestjs/common';
import type { Response } from 'express';
import { idParam } from '@tenantlab/shared';
import { limitParam } from '../common/request-params';
import { TracesService, type StoredTrace } from './traces.service';
import { ApiQuery, ApiResponse } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, PCAP_CONTENT, strictObject } from '@tenantlab/shared';

/**
 * Packet traces for the people running the lab (telemetry is not tenant-facing): per-tenant figures, a tenant's
 * latest traces, and its captured frames as a pcap file for Wireshark (`curl -o a.pcap .../traces/tenant-a/pcap`).
 */
@Controller('traces')
export class TracesController {
  constructor(private readonly traces: TracesService) {}

  @Get()
  @ApiAnswer(200, { type: 'object' }, 'trace figures per tenant')
  summary(): ReturnType<TracesService['summary']> {
    return this.traces.summary();
  }

  @Get(':tenant')
  @ApiQuery({ name: 'limit', required: false })
  @ApiAnswer(
    200,
    strictObject({ tenant: { type: 'string' }, traces: { type: 'array', items: { type: 'object' } } }),
    "the tenant's latest traces",
  )
  @ApiErrors(404)
  latest(@Param('tenant') tenant: string, @Query('limit') limit?: string): { tenant: string; traces: StoredTrace[] } {
    return { tenant, traces: this.traces.latest(idParam('tenant', tenant), limitParam(limit)) };
  }

  @Get(':tenant/pcap')
  @ApiResponse({ status: 200, description: "the tenant's captured frames", content: PCAP_CONTENT })
  @ApiErrors(404)
  pcap(@Param('tenant') tenant: string, @Res({ passthrough: true }) response: Response): StreamableFile {
    const { file, frames, withoutBytes } = this.traces.pcap(idParam('tenant', tenant));
    // Set here, once the file exists, not with @Header: that would label a refusal's JSON (404, 400) as a pcap file too.
    response.setHeader('content-type', 'application/vnd.tcpdump.pcap');
    response.setHeader('content-disposition', `attachment; filename="${tenant}.pcap"`);
    response.setHeader('x-tenantlab-frames', String(frames));
    response.setHeader('x-tenantlab-traces-without-bytes', String(withoutBytes));
    return new StreamableFile(file);
  }
}
