import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY, type Sample, samplesByKey, scrapedCounter, scrapedGauge } from '@tenantlab/shared';
import type { Registry } from 'prom-client';
import { DataplaneService } from './dataplane.service';

/**
 * The switch's metrics, read at each scrape from the counters the data path keeps (`GET /dataplane`): per tenant,
 * frames and bytes in and out and drops by reason (a fixed set: DROP_REASONS), the flow cache, and the program CPU
 * budget. Labels are bounded: `tenant` by the operator's declared tenants, `reason` by the drop reasons.
 */
@Injectable()
export class SwitchMetrics {
  constructor(@Inject(METRICS_REGISTRY) registry: Registry, dataplane: DataplaneService) {
    const tenants = (): ReturnType<DataplaneService['pipeline']['counters']['snapshot']>['tenants'] =>
      dataplane.pipeline.counters.snapshot().tenants;
    const perTenant = (name: string, help: string, value: (c: ReturnType<typeof tenants>[string]) => number): void => {
      scrapedCounter({
        registry,
        name,
        help,
        labelNames: ['tenant'],
        read: () => samplesByKey('tenant', tenants(), value),
      });
    };
    perTenant(
      'tenantlab_switch_received_frames_total',
      "Frames the switch read from the tenant's VMs.",
      (c) => c.rxFrames,
    );
    perTenant(
      'tenantlab_switch_received_bytes_total',
      "Bytes of the frames read from the tenant's VMs.",
      (c) => c.rxBytes,
    );
    perTenant(
      'tenantlab_switch_delivered_frames_total',
      "Frames delivered to the tenant's VMs (one per copy).",
      (c) => c.txFrames,
    );
    perTenant('tenantlab_switch_delivered_bytes_total', "Bytes delivered to the tenant's VMs.", (c) => c.txBytes);
    scrapedCounter({
      registry,
      name: 'tenantlab_switch_dropped_frames_total',
      help: 'Frames of the tenant the switch dropped, by reason.',
      labelNames: ['tenant', 'reason'],
      read: () =>
        Object.entries(tenants()).flatMap(([tenant, counters]) =>
          Object.entries(counters.drops).map(([reason, frames]): Sample<'tenant' | 'reason'> => [
            { tenant, reason },
            frames ?? 0,
          ]),
        ),
    });
    const cache =
      (value: (stats: NonNullable<ReturnType<DataplaneService['pipeline']['cacheStats']>>) => number) => () => {
        const stats = dataplane.pipeline.cacheStats();
        return stats ? [[{}, value(stats)] as Sample<never>] : [];
      };
    scrapedCounter({
      registry,
      name: 'tenantlab_switch_flow_cache_hits_total',
      help: 'Flow cache lookups that hit.',
      labelNames: [],
      read: cache((s) => s.hits),
    });
    scrapedCounter({
      registry,
      name: 'tenantlab_switch_flow_cache_misses_total',
      help: 'Flow cache lookups that missed (stale entries included).',
      labelNames: [],
      read: cache((s) => s.misses),
    });
    scrapedCounter({
      registry,
      name: 'tenantlab_switch_flow_cache_evictions_total',
      help: 'Valid flows pushed out of the bounded flow cache.',
      labelNames: [],
      read: cache((s) => s.evictions),
    });
    scrapedGauge({
      registry,
      name: 'tenantlab_switch_flow_cache_flows',
      help: 'Flows in the flow cache.',
      labelNames: [],
      read: cache((s) => s.flows),
    });
    // Every tenant the switch has seen has a series (0 until its frames wait), so rate() and alerts see it from the start.
    const everyTenant = (values: ReadonlyMap<string, number>): Map<string, number> =>
      new Map([...Object.keys(tenants()).map((tenant): [string, number] => [tenant, 0]), ...values]);
    scrapedGauge({
      registry,
      name: 'tenantlab_switch_cpu_budget_waiting_frames',
      help: 'Frames of the tenant waiting now because its programs used up their CPU share (its wait queue).',
      labelNames: ['tenant'],
      read: () => samplesByKey('tenant', everyTenant(dataplane.cpuWaiting()), (frames) => frames),
    });
    scrapedCounter({
      registry,
      name: 'tenantlab_switch_cpu_budget_waited_frames_total',
      help: 'Frames of the tenant that had to wait for CPU because its programs used up their share (each counted once).',
      labelNames: ['tenant'],
      read: () => samplesByKey('tenant', everyTenant(dataplane.cpuWaitsTotal()), (frames) => frames),
    });
    scrapedCounter({
      registry,
      name: 'tenantlab_switch_program_cpu_seconds_total',
      help: "Processing time charged to the tenant's programs in the CPU budget.",
      labelNames: ['tenant'],
      read: () => samplesByKey('tenant', dataplane.pipeline.programCpuNs(), (ns) => ns / 1e9),
    });
    scrapedGauge({
      registry,
      name: 'tenantlab_switch_ports',
      help: 'vNIC ports attached to the switch, per tenant.',
      labelNames: ['tenant'],
      read: () => {
        const ports = new Map<string, number>();
        for (const port of dataplane.ports()) ports.set(port.tenant, (ports.get(port.tenant) ?? 0) + 1);
        return samplesByKey('tenant', ports, (count) => count);
      },
    });
  }
}
