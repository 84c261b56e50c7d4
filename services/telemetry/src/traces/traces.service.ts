import { Inject, Injectable } from '@nestjs/common';
import { type CapturedFrame, NotFoundError, pcapFile, type TraceTopicMessage } from '@tenantlab/shared';
import { TELEMETRY_CONFIG, type TelemetryConfig } from '../config/telemetry.config';
import { BoundedLog } from '../common/bounded-log';
import { PerTenant } from '../common/per-tenant';
import { RejectedMessages, type RejectedSummary } from '../consumer/rejected-messages';

/** What telemetry keeps of one trace-topic message. */
export interface StoredTrace {
  readonly message: TraceTopicMessage;
  readonly receivedAt: string;
}

/** Per-tenant figures over every trace seen since telemetry started (not just the ones still kept). */
export interface TenantTraceSummary {
  traces: number;
  mirrored: number;
  bytes: number;
  verdicts: Record<string, number>;
  dropReasons: Record<string, number>;
  firstTimestampUs: number;
  lastTimestampUs: number;
  /** How many of the tenant's traces are kept for `GET /traces/:tenant` and its pcap. */
  kept: number;
}

interface TenantTraces {
  summary: Omit<TenantTraceSummary, 'kept'>;
  /** The newest TRACES_KEPT_PER_TENANT. */
  kept: BoundedLog<StoredTrace>;
}

/**
 * The packet traces of `switch.packet-traces`, per tenant: running aggregates, and the latest traces in a bounded
 * ring per tenant (and a bounded number of tenants), so a busy lab cannot grow telemetry without limit. Tenants are
 * kept apart: a tenant's view and pcap hold its own frames only.
 */
@Injectable()
export class TracesService {
  private readonly tenants: PerTenant<TenantTraces>;
  readonly rejected = new RejectedMessages();

  constructor(@Inject(TELEMETRY_CONFIG) config: TelemetryConfig) {
    this.tenants = new PerTenant(config.TRACE_TENANTS_MAX, () => ({
      summary: emptySummary(),
      kept: new BoundedLog<StoredTrace>(config.TRACES_KEPT_PER_TENANT),
    }));
  }

  record(message: TraceTopicMessage): void {
    const tenant = this.tenants.track(message.tenant);
    if (tenant === undefined) return;
    const { summary } = tenant;
    summary.bytes += message.length;
    summary.firstTimestampUs = Math.min(summary.firstTimestampUs, message.timestampUs);
    summary.lastTimestampUs = Math.max(summary.lastTimestampUs, message.timestampUs);
    if ('mirrored' in message) summary.mirrored += 1;
    else {
      summary.traces += 1;
      summary.verdicts[message.verdict] = (summary.verdicts[message.verdict] ?? 0) + 1;
      if (message.dropReason !== undefined) {
        summary.dropReasons[message.dropReason] = (summary.dropReasons[message.dropReason] ?? 0) + 1;
      }
    }
    tenant.kept.add({ message, receivedAt: new Date().toISOString() });
  }

  summary(): {
    tenants: Record<string, TenantTraceSummary>;
    rejected: RejectedSummary;
    untrackedTraces: number;
  } {
    const tenants = Object.fromEntries(
      this.tenants.entries().map(([name, t]) => [name, { ...t.summary, kept: t.kept.size }]),
    );
    return { tenants, rejected: this.rejected.snapshot(), untrackedTraces: this.tenants.untrackedMessages };
  }

  /** The tenant's kept traces, newest last, at most `limit`. */
  latest(tenant: string, limit: number): StoredTrace[] {
    return this.tenantOrThrow(tenant).kept.latest(limit);
  }

  /** The tenant's kept traces that carry frame bytes, as a pcap file, oldest first. */
  pcap(tenant: string): { file: Buffer; frames: number; withoutBytes: number } {
    const traces = this.tenantOrThrow(tenant).kept.all();
    const frames: CapturedFrame[] = [];
    for (const { message } of traces) {
      if (message.firstBytes === undefined) continue;
      frames.push({
        timestampUs: message.timestampUs,
        bytes: Buffer.from(message.firstBytes, 'base64'),
        originalLength: message.length,
      });
    }
    if (frames.length === 0) {
      throw new NotFoundError(
        `no frame bytes among tenant ${tenant}'s ${traces.length} traces: the switch captures none while its ` +
          'TRACE_SNAP_BYTES is 0',
      );
    }
    const snap = Math.max(...frames.map((f) => f.bytes.length));
    return { file: pcapFile(frames, snap), frames: frames.length, withoutBytes: traces.length - frames.length };
  }

  private tenantOrThrow(tenant: string): TenantTraces {
    const found = this.tenants.get(tenant);
    if (found === undefined) {
      throw new NotFoundError(
        `no packet traces of tenant ${tenant} yet: the switch samples TRACE_SAMPLING_RATE of each tenant's frames ` +
          '(PUT /tenants/:tenant/sampling on the switch sets it per tenant)',
      );
    }
    return found;
  }
}

function emptySummary(): Omit<TenantTraceSummary, 'kept'> {
  return {
    traces: 0,
    mirrored: 0,
    bytes: 0,
    verdicts: {},
    dropReasons: {},
    firstTimestampUs: Number.MAX_SAFE_INTEGER,
    lastTimestampUs: 0,
  };
}
