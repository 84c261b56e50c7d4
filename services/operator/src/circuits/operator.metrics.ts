import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY, type Sample, scrapedGauge } from '@tenantlab/shared';
import type { Registry } from 'prom-client';
import { CircuitsRepository } from './circuits.repository';

/**
 * The operator's metrics: the circuits it brokers, per tenant and state, and the ring bytes they reserve (each
 * endpoint counts 2 x capacity.bytes against its tenant's quota), read from its circuit records at each scrape. A
 * circuit between two tenants counts for each. Bytes moved over circuits are the VMs' (tenantlab_vm_circuit_*): the
 * operator never sees them. A scrape while Redis is away shows no circuit series.
 */
@Injectable()
export class OperatorMetrics {
  constructor(@Inject(METRICS_REGISTRY) registry: Registry, circuits: CircuitsRepository) {
    const records = (): Promise<Awaited<ReturnType<CircuitsRepository['all']>>> => circuits.all().catch(() => []);
    scrapedGauge({
      registry,
      name: 'tenantlab_operator_circuits',
      help: 'Circuits the operator holds, per tenant of an endpoint and state (opening, open, closing).',
      labelNames: ['tenant', 'state'],
      read: async () => {
        const counts = new Map<string, Sample<'tenant' | 'state'>>();
        for (const record of await records()) {
          for (const tenant of new Set([record.a.tenant, record.b.tenant])) {
            const key = `${tenant}\n${record.state}`;
            const [labels, count] = counts.get(key) ?? [{ tenant, state: record.state }, 0];
            counts.set(key, [labels, count + 1]);
          }
        }
        return counts.values();
      },
    });
    scrapedGauge({
      registry,
      name: 'tenantlab_operator_circuit_ring_bytes',
      help: "Ring bytes the tenant's circuit endpoints reserve (2 x capacity.bytes per endpoint).",
      labelNames: ['tenant'],
      read: async () => {
        const bytes = new Map<string, number>();
        for (const record of await records()) {
          for (const end of [record.a, record.b]) {
            bytes.set(end.tenant, (bytes.get(end.tenant) ?? 0) + 2 * record.capacity.bytes);
          }
        }
        return [...bytes].map(([tenant, value]): Sample<'tenant'> => [{ tenant }, value]);
      },
    });
  }
}
