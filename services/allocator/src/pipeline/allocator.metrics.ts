import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY, type Sample, scrapedGauge } from '@tenantlab/shared';
import { Counter, type Registry } from 'prom-client';
import { PipelineService } from './pipeline.service';

/** What the allocator decided about a tenant's program: a bounded set, the `decision` label. */
export type AllocatorDecision = 'admitted' | 'replaced' | 'refused' | 'removed';

/** Register cells are 64 bits: memory in bytes, Prometheus's base unit. */
const CELL_BYTES = 8;

/**
 * The allocator's metrics: its decisions (counted as they are made: the allocator keeps no running count of its
 * own) and the switch's register memory, read from the memory map at each scrape (`GET /memory`): free bytes per
 * stage and the bytes each tenant holds. A scrape while Redis is away shows the decisions only.
 */
@Injectable()
export class AllocatorMetrics {
  private readonly decisions: Counter<'decision'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, pipelines: PipelineService) {
    this.decisions = new Counter({
      name: 'tenantlab_allocator_decisions_total',
      help: "The allocator's decisions on tenants' programs: admitted, replaced, refused or removed.",
      labelNames: ['decision'],
      registers: [registry],
    });
    const memory = async (): Promise<Awaited<ReturnType<PipelineService['memory']>> | undefined> =>
      pipelines.memory().catch(() => undefined);
    scrapedGauge({
      registry,
      name: 'tenantlab_allocator_register_free_bytes',
      help: 'Free register memory on the switch, per stage.',
      labelNames: ['stage'],
      read: async () =>
        ((await memory())?.stages ?? []).map((stage): Sample<'stage'> => [
          { stage: String(stage.stage) },
          stage.freeCells * CELL_BYTES,
        ]),
    });
    scrapedGauge({
      registry,
      name: 'tenantlab_allocator_register_used_bytes',
      help: "Register memory the tenant's program holds, over all stages.",
      labelNames: ['tenant'],
      read: async () => {
        const used = new Map<string, number>();
        for (const stage of (await memory())?.stages ?? []) {
          for (const slice of stage.slices) used.set(slice.tenant, (used.get(slice.tenant) ?? 0) + slice.amount);
        }
        return [...used].map(([tenant, cells]): Sample<'tenant'> => [{ tenant }, cells * CELL_BYTES]);
      },
    });
  }

  decided(decision: AllocatorDecision): void {
    this.decisions.inc({ decision });
  }
}
