import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JsonLogger } from '@tenantlab/shared';
import { ComponentsService } from '../components/components.service';
import { EventsService } from '../events/events.service';
import { TracesService } from '../traces/traces.service';
import { DASHBOARD_CONFIG, type DashboardConfig } from './dashboard.config';
import { type CircuitEntry, type DataplaneEntry, LabSources, type MemoryEntry, type VmEntry } from './lab-sources';
import { RateSeries } from './rate-series';
import { SseHub } from './sse-hub';

/** The charts' window: five minutes. */
const WINDOW_MS = 5 * 60_000;
const RECENT_TRACES = 25;
/** While no page watches, one poll in this many. */
const IDLE_EVERY = 5;
const RECENT_EVENTS = 25;

type SourceName = 'operator' | 'switch' | 'allocator';

/** Everything one dashboard frame shows; sent whole on every poll (a few kB for a lab of this size). */
export interface DashboardSnapshot {
  at: number;
  pollMs: number;
  sources: Record<SourceName, { ok: boolean; error?: string }>;
  tenants: {
    id: string;
    vlan?: number;
    vms: { id: string; alive: boolean; port?: number }[];
    rxFrames: number;
    txFrames: number;
    drops: Record<string, number>;
    sampling?: number;
    program: boolean;
  }[];
  switch: { ports: number; macs: number; lookups: string; programVersion: number; programError?: string } | null;
  circuits: (Omit<CircuitEntry, 'rings'> & { entries: number; bytesHeld: number })[];
  series: {
    frames: ReturnType<RateSeries['view']>;
    drops: ReturnType<RateSeries['view']>;
    circuits: ReturnType<RateSeries['view']>;
  };
  memory: MemoryEntry | null;
  programs: { counts: Record<string, Record<string, number>>; recent: unknown[] };
  traces: { tenants: ReturnType<TracesService['summary']>['tenants']; recent: unknown[] };
  components: { component: string; instance: string; state: string; lastReceivedAt: string }[];
}

/**
 * Collects the dashboard's data every DASHBOARD_POLL_MS while a page watches (every fifth while none does): the lab's topology, counters and
 * memory map from the operator, the switch and the allocator (LabSources), and what telemetry itself read from Kafka
 * (traces, program events, heartbeats); keeps five minutes of rates for the charts; and hands every snapshot to the
 * SSE hub. A source that does not answer leaves its part empty and says why, the rest goes on.
 */
@Injectable()
export class DashboardCollector implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private collecting = false;
  /** Ticks since the last collection while nobody watches; then only every IDLE_EVERY-th tick collects. */
  private idleTicks = 0;
  private latest: DashboardSnapshot | undefined;
  private readonly frames: RateSeries;
  private readonly drops: RateSeries;
  private readonly circuitEntries: RateSeries;

  constructor(
    @Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig,
    private readonly sources: LabSources,
    private readonly hub: SseHub,
    private readonly traces: TracesService,
    private readonly events: EventsService,
    private readonly components: ComponentsService,
    private readonly logger: JsonLogger,
  ) {
    this.frames = new RateSeries(WINDOW_MS);
    this.drops = new RateSeries(WINDOW_MS);
    this.circuitEntries = new RateSeries(WINDOW_MS);
  }

  onApplicationBootstrap(): void {
    if (this.config.DASHBOARD_TOKEN === undefined) return;
    this.timer = setInterval(() => void this.tick(), this.config.DASHBOARD_POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The newest snapshot, collected now if none was yet. */
  async snapshot(): Promise<DashboardSnapshot> {
    return this.latest ?? (await this.collect());
  }

  private async tick(): Promise<void> {
    // A slow source must not pile polls up: skip a tick while the last one still runs.
    if (this.collecting) return;
    // Nobody watching: collect only every IDLE_EVERY-th tick, enough to have the charts' history when a page opens.
    if (this.hub.size === 0 && ++this.idleTicks < IDLE_EVERY) return;
    this.idleTicks = 0;
    this.collecting = true;
    try {
      this.hub.broadcast('snapshot', await this.collect());
    } catch (error) {
      this.logger.record('warn', `dashboard: collecting failed: ${String(error)}`, { context: 'dashboard' });
    } finally {
      this.collecting = false;
    }
  }

  private async collect(): Promise<DashboardSnapshot> {
    const at = Date.now();
    const [vms, circuits, dataplane, memory] = await Promise.allSettled([
      this.sources.vms(),
      this.sources.circuits(),
      this.sources.dataplane(),
      this.sources.memory(),
    ]);
    const sources = {
      operator: status(vms, circuits),
      switch: status(dataplane),
      allocator: status(memory),
    };
    const vmList = vms.status === 'fulfilled' ? vms.value.vms : [];
    const circuitList = circuits.status === 'fulfilled' ? circuits.value.circuits : [];
    const plane = dataplane.status === 'fulfilled' ? dataplane.value : undefined;

    const tenantCounters = plane?.counters.tenants ?? {};
    this.frames.sample(at, new Map(Object.entries(tenantCounters).map(([tenant, c]) => [tenant, c.rxFrames])));
    const dropTotals = new Map<string, number>();
    for (const counters of Object.values(tenantCounters)) {
      for (const [reason, count] of Object.entries(counters.drops)) {
        dropTotals.set(reason, (dropTotals.get(reason) ?? 0) + count);
      }
    }
    this.drops.sample(at, dropTotals);
    this.circuitEntries.sample(
      at,
      new Map(circuitList.map((c) => [c.id, c.rings.a2b.entriesAdded + c.rings.b2a.entriesAdded])),
    );

    const snapshot: DashboardSnapshot = {
      at,
      pollMs: this.config.DASHBOARD_POLL_MS,
      sources,
      tenants: tenantsOf(vmList, plane),
      switch: plane
        ? {
            ports: plane.ports.length,
            macs: plane.macs,
            lookups: plane.lookups,
            programVersion: plane.programs.version,
            ...(plane.programs.lastError ? { programError: plane.programs.lastError } : {}),
          }
        : null,
      circuits: circuitList.map(({ rings, ...circuit }) => ({
        ...circuit,
        entries: rings.a2b.entriesAdded + rings.b2a.entriesAdded,
        bytesHeld: rings.a2b.bytes + rings.b2a.bytes,
      })),
      series: { frames: this.frames.view(), drops: this.drops.view(), circuits: this.circuitEntries.view() },
      memory: memory.status === 'fulfilled' ? memory.value : null,
      programs: this.programEvents(),
      traces: this.packetTraces(),
      components: this.components.snapshot().components.map(({ component, instance, state, lastReceivedAt }) => ({
        component,
        instance,
        state,
        lastReceivedAt,
      })),
    };
    this.latest = snapshot;
    return snapshot;
  }

  private programEvents(): DashboardSnapshot['programs'] {
    const { tenants } = this.events.summary();
    const recent = Object.keys(tenants)
      .flatMap((tenant) => this.events.latest(tenant, RECENT_EVENTS))
      .sort((x, y) => y.timestampUs - x.timestampUs)
      .slice(0, RECENT_EVENTS);
    return { counts: tenants, recent };
  }

  private packetTraces(): DashboardSnapshot['traces'] {
    const { tenants } = this.traces.summary();
    const recent = Object.keys(tenants)
      .flatMap((tenant) => this.traces.latest(tenant, RECENT_TRACES).map(({ message }) => message))
      .sort((x, y) => y.timestampUs - x.timestampUs)
      .slice(0, RECENT_TRACES)
      // The frame's bytes are for the pcap download, not the page.
      .map((message) => ({ ...message, firstBytes: undefined }));
    return { tenants, recent };
  }
}

function status(...results: PromiseSettledResult<unknown>[]): { ok: boolean; error?: string } {
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed === undefined) return { ok: true };
  return { ok: false, error: failed.reason instanceof Error ? failed.reason.message : String(failed.reason) };
}

/** Tenants from the operator's VMs and the switch's ports and counters, sorted by id. */
function tenantsOf(vms: VmEntry[], plane: DataplaneEntry | undefined): DashboardSnapshot['tenants'] {
  const ids = new Set([...vms.map((vm) => vm.tenant), ...Object.keys(plane?.counters.tenants ?? {})]);
  const portOf = new Map(plane?.ports.map((port) => [port.vm, port.port]) ?? []);
  return [...ids].sort().map((id) => {
    const counters = plane?.counters.tenants[id];
    const own = vms.filter((vm) => vm.tenant === id).sort((x, y) => x.id.localeCompare(y.id));
    const vlan = own.find((vm) => vm.vlan !== undefined)?.vlan ?? plane?.ports.find((p) => p.tenant === id)?.vlan;
    const sampling = plane?.sampling[id];
    return {
      id,
      ...(vlan !== undefined ? { vlan } : {}),
      vms: own.map((vm) => ({
        id: vm.id,
        alive: vm.alive,
        ...(portOf.has(vm.id) ? { port: portOf.get(vm.id) } : {}),
      })),
      rxFrames: counters?.rxFrames ?? 0,
      txFrames: counters?.txFrames ?? 0,
      drops: counters?.drops ?? {},
      ...(sampling !== undefined ? { sampling } : {}),
      program: plane?.programs.tenants.includes(id) ?? false,
    };
  });
}
