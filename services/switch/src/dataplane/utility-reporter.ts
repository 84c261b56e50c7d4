import { ROOT_CONTEXT, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import {
  hitRatio,
  injectTraceIntoKafkaHeaders,
  type KafkaHeaders,
  type LinkedTenant,
  type UtilityReportMessage,
} from '@tenantlab/shared';
import type { CompiledProgram } from '../programs';
import type { InstalledPrograms } from './program-installer';

/** The counters a program declares to have a utility: packets it saw, and the ones its memory missed. */
export const UTILITY_COUNTERS = { packets: 'packets', misses: 'misses' } as const;

/** Where reports go: the switch's `allocator.utility-reports` publisher, each record with its own headers. */
export interface UtilityReportPublisher {
  publish(key: string, value: UtilityReportMessage, headers?: KafkaHeaders): void;
}

/**
 * Whether the tenant's program has a utility (declares both counters) and, if so, its slots: the entries its largest
 * declared register holds. The allocator resizes a program's registers together, each in proportion to its declared
 * size, so the smallest ratio of entries held to entries declared, times the largest declared size, is that.
 */
export function utilitySlots(linked: LinkedTenant): number | undefined {
  const { counters = [], registers = [] } = linked.program.program;
  const declared = (name: string): boolean => counters.some((c) => c.name === name);
  if (!declared(UTILITY_COUNTERS.packets) || !declared(UTILITY_COUNTERS.misses) || registers.length === 0) {
    return undefined;
  }
  const largest = Math.max(...registers.map((register) => register.size));
  let ratio = Number.POSITIVE_INFINITY;
  for (const register of registers) {
    const entry = linked.pageTable[register.name];
    if (entry === undefined) return undefined;
    // A 128-bit entry takes two cells.
    const entries = register.width > 64 ? entry.amount / 2 : entry.amount;
    ratio = Math.min(ratio, entries / register.size);
  }
  // The epsilon keeps float noise (495.99999999999994) from costing a slot.
  return Math.max(1, Math.floor(ratio * largest + 1e-9));
}

/**
 * Seed 004's utility calculator, on the switch: at the end of every window, each tenant program that has a utility
 * (see `utilitySlots`) is reported with the window's packets, misses and hit ratio, as counted by the compiled
 * instance that ran then. A re-linked program is a new instance whose counters start at zero, so a window during
 * which the tenant was re-linked reports what ran under its new linking only. Each report is a `switch.utility-report`
 * span (a root: no packet caused it) whose context rides in the record's headers, so the allocator's decision can
 * link to it.
 */
export class UtilityReporter {
  private window = 0;
  /** Per tenant, the instance last reported and its counts then. */
  private readonly last = new Map<string, { program: CompiledProgram; packets: number; misses: number }>();

  constructor(
    private readonly publisher: UtilityReportPublisher,
    private readonly tracer: Tracer,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /**
     * With UTILITY_WINDOW_RESET: clears a reported program's registers once its window is reported, so every window
     * is one detection interval from an empty table (seed 004's per-interval heavy-hitter tasks).
     */
    private readonly resetWindow: ((linked: LinkedTenant) => void) | undefined = undefined,
  ) {}

  /** Closes a window over what is installed now; returns the reports it published. */
  closeWindow(installed: InstalledPrograms): UtilityReportMessage[] {
    this.window += 1;
    const windowEndMs = this.now();
    const reports: UtilityReportMessage[] = [];
    for (const tenant of this.last.keys()) if (!installed.byTenant.has(tenant)) this.last.delete(tenant);
    for (const [tenant, program] of installed.byTenant) {
      const linked = installed.linked.get(tenant);
      const slots = linked && utilitySlots(linked);
      if (linked === undefined || slots === undefined) continue;
      const packetsNow = program.counter(UTILITY_COUNTERS.packets, 0).packets;
      const missesNow = program.counter(UTILITY_COUNTERS.misses, 0).packets;
      const before = this.last.get(tenant);
      const same = before?.program === program;
      const packets = packetsNow - (same ? before.packets : 0);
      const misses = Math.min(packets, missesNow - (same ? before.misses : 0));
      this.last.set(tenant, { program, packets: packetsNow, misses: missesNow });
      const report: UtilityReportMessage = {
        tenant,
        program: program.name,
        window: this.window,
        windowEndMs,
        windowMs: this.windowMs,
        slots,
        packets,
        misses,
        utility: hitRatio(packets, misses),
        pipelineVersion: installed.version,
        installedAtMs: installed.installedAtMs,
      };
      const span = this.tracer.startSpan(
        'switch.utility-report',
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'tenantlab.tenant.id': tenant,
            'tenantlab.utility.window': this.window,
            'tenantlab.utility.value': report.utility,
            'tenantlab.utility.slots': slots,
          },
        },
        ROOT_CONTEXT,
      );
      this.publisher.publish(tenant, report, injectTraceIntoKafkaHeaders({}, trace.setSpan(ROOT_CONTEXT, span)));
      span.end();
      this.resetWindow?.(linked);
      reports.push(report);
    }
    return reports;
  }
}
