import { Inject, Injectable } from '@nestjs/common';
import { NotFoundError, type ProgramEventMessage } from '@tenantlab/shared';
import { BoundedLog } from '../common/bounded-log';
import { PerTenant } from '../common/per-tenant';
import { TELEMETRY_CONFIG, type TelemetryConfig } from '../config/telemetry.config';
import { RejectedMessages, type RejectedSummary } from '../consumer/rejected-messages';

interface TenantEvents {
  /** Events seen per name since telemetry started. */
  counts: Record<string, number>;
  kept: BoundedLog<ProgramEventMessage>;
}

/**
 * What tenant programs reported on `switch.program-events` (heavy hitters, ...), per tenant: counts by event name
 * and the newest EVENTS_KEPT_PER_TENANT events, for at most TRACE_TENANTS_MAX tenants (memory stays bounded).
 */
@Injectable()
export class EventsService {
  private readonly tenants: PerTenant<TenantEvents>;
  readonly rejected = new RejectedMessages();

  constructor(@Inject(TELEMETRY_CONFIG) config: TelemetryConfig) {
    this.tenants = new PerTenant(config.TRACE_TENANTS_MAX, () => ({
      counts: {},
      kept: new BoundedLog<ProgramEventMessage>(config.EVENTS_KEPT_PER_TENANT),
    }));
  }

  record(message: ProgramEventMessage): void {
    const tenant = this.tenants.track(message.tenant);
    if (tenant === undefined) return;
    tenant.counts[message.event] = (tenant.counts[message.event] ?? 0) + 1;
    tenant.kept.add(message);
  }

  summary(): { tenants: Record<string, Record<string, number>>; rejected: RejectedSummary; untrackedEvents: number } {
    const tenants = Object.fromEntries(this.tenants.entries().map(([name, t]) => [name, { ...t.counts }]));
    return { tenants, rejected: this.rejected.snapshot(), untrackedEvents: this.tenants.untrackedMessages };
  }

  /** The tenant's newest events, oldest first; only those named `event` when given. */
  latest(tenant: string, limit: number, event?: string): ProgramEventMessage[] {
    const found = this.tenants.get(tenant);
    if (found === undefined) {
      throw new NotFoundError(
        `no program events of tenant ${tenant} yet: they come from the \`report\` op of its program on the switch`,
      );
    }
    const events = found.kept.all().filter((e) => event === undefined || e.event === event);
    return events.slice(Math.max(0, events.length - limit));
  }
}
