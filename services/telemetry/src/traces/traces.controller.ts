import { Controller, Get, Header, Param, Query, Res, StreamableFile } from '@nestjs/common';
import { ID_PATTERN, ValidationError } from '@tenantlab/shared';
import type { Response } from 'express';
import { TracesService, type StoredTrace } from './traces.service';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

/**
 * Packet traces for the people running the lab (telemetry is not tenant-facing): per-tenant figures, a tenant's
 * latest traces, and its captured frames as a pcap file for Wireshark (`curl -o a.pcap .../traces/tenant-a/pcap`).
 */
@Controller('traces')
export class TracesController {
  constructor(private readonly traces: TracesService) {}

  @Get()
  summary(): ReturnType<TracesService['summary']> {
    return this.traces.summary();
  }

  @Get(':tenant')
  latest(@Param('tenant') tenant: string, @Query('limit') limit?: string): { tenant: string; traces: StoredTrace[] } {
    return { tenant, traces: this.traces.latest(checkTenant(tenant), parseLimit(limit)) };
  }

  @Get(':tenant/pcap')
  @Header('content-type', 'application/vnd.tcpdump.pcap')
  pcap(@Param('tenant') tenant: string, @Res({ passthrough: true }) response: Response): StreamableFile {
    const { file, frames, withoutBytes } = this.traces.pcap(checkTenant(tenant));
    response.setHeader('content-disposition', `attachment; filename="${tenant}.pcap"`);
    response.setHeader('x-tenantlab-frames', String(frames));
    response.setHeader('x-tenantlab-traces-without-bytes', String(withoutBytes));
    return new StreamableFile(file);
  }
}

function checkTenant(tenant: string): string {
  if (!ID_PATTERN.test(tenant)) {
    throw new ValidationError('tenant is invalid: expected 1-63 characters of a-z, 0-9 and -', ['tenant: invalid id']);
  }
  return tenant;
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ValidationError(`limit must be a whole number from 1 to ${MAX_LIMIT}`, [`limit: got ${raw}`]);
  }
  return limit;
}
