import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  extractTraceFromStreamFields,
  FrameView,
  fieldsFromFlatList,
  JsonLogger,
  KAFKA_CLIENT,
  NotFoundError,
  type ProgramEventMessage,
  REDIS_CLIENT,
  TOPICS,
  ValidationError,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { SWITCH_CONFIG, SwitchConfig } from '../config/switch.config';
import { SwitchPipeline } from '../pipeline/switch-pipeline';
import { type CompiledProgram, type ProgramHooks, RegisterMemory, type ReportValue } from '../programs';
import { ProgramInstaller } from './program-installer';
import type { SwitchPort, Verdict } from '../pipeline/switch-port';
import { PortDirectory } from '../ports/port-directory';
import { type PortEntry, PortReader, PortWriter } from '../ports/port-io';
import { KafkaBatchPublisher } from '../traces/kafka-batch.publisher';
import { type MirroredFrame, type PacketTrace, packetTrace } from '../traces/packet-trace';

const tracer = trace.getTracer('tenantlab.switch');

/** What `switch.program-events` carries: one `report` op of a tenant program. */
export interface ProgramEvent {
  tenant: string;
  event: string;
  fields: Record<string, number | string>;
  timestampUs: number;
}

function acknowledge(acks: Map<SwitchPort, string[]>, entry: PortEntry): void {
  const ids = acks.get(entry.port);
  if (ids) ids.push(entry.id);
  else acks.set(entry.port, [entry.id]);
}

function reportValue(value: ReportValue): number | string {
  return typeof value === 'bigint' ? value.toString() : value;
}
const MAX_QUEUED_TRACES = 10_000;
/** Frames of one tenant that may wait, unacknowledged, while its programs are over their CPU share. */
const MAX_WAITING_PER_TENANT = 4096;
/** How long a read blocks while frames wait for CPU: short, so they run as soon as their tenant has time again. */
const WAITING_BLOCK_MS = 5;
const TRACE_FLUSH_MS = 200;
/** Weights are relative; a bound keeps one tenant from being handed a share that rounds the others' to nothing. */
export const MAX_CPU_WEIGHT = 1000;

/**
 * The switch's data path: discovers ports, reads every port's tx stream in batches, runs each frame through the
 * pipeline, and commits a batch's deliveries and acknowledgements together. Packet traces and counters go to Kafka
 * on the side, best effort: forwarding never waits for Kafka.
 */
@Injectable()
export class DataplaneService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly pipeline: SwitchPipeline;
  private readonly directory: PortDirectory;
  private readonly reader: PortReader;
  private readonly writer: PortWriter;
  private readonly blocking: Redis;
  private readonly traces: KafkaBatchPublisher<PacketTrace | MirroredFrame>;
  private readonly counters: KafkaBatchPublisher<unknown>;
  private readonly events: KafkaBatchPublisher<ProgramEvent>;
  private readonly installer: ProgramInstaller;
  private installing: Promise<void> | undefined;
  private readonly sampling = new Map<string, number>();
  /** Per tenant, frames read but not yet run because its programs were over their CPU share (seed 000). */
  private readonly waiting = new Map<string, PortEntry[]>();
  private running: Promise<void> | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private countersTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private batches = 0;
  private lastError: string | undefined;

  constructor(
    @Inject(SWITCH_CONFIG) private readonly config: SwitchConfig,
    @Inject(REDIS_CLIENT) redis: Redis,
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    private readonly logger: JsonLogger,
  ) {
    this.pipeline = new SwitchPipeline({
      flowCacheSize: config.FLOW_CACHE_SIZE,
      programCpu: { nsPerSecond: config.PROGRAM_CPU_NS_PER_SECOND, burstNs: config.PROGRAM_CPU_BURST_NS },
    });
    this.directory = new PortDirectory(redis);
    this.blocking = redis.duplicate({ connectionName: 'switch:ports' });
    this.reader = new PortReader(this.blocking, config.SWITCH_CONSUMER, config.SWITCH_BATCH, 1000);
    this.writer = new PortWriter(redis);
    this.traces = new KafkaBatchPublisher(kafka, TOPICS.packetTraces, MAX_QUEUED_TRACES, TRACE_FLUSH_MS, logger);
    this.counters = new KafkaBatchPublisher(kafka, TOPICS.switchCounters, 100, config.COUNTERS_INTERVAL_MS, logger);
    this.events = new KafkaBatchPublisher(kafka, TOPICS.programEvents, MAX_QUEUED_TRACES, TRACE_FLUSH_MS, logger);
    this.installer = new ProgramInstaller(
      redis,
      redis.duplicate({ connectionName: 'switch:pipeline' }),
      new RegisterMemory(config.SWITCH_STAGES, config.REGISTER_CELLS_PER_STAGE),
      (tenant) => this.hooksFor(tenant),
      ({ byTenant }) => this.pipeline.installPrograms(byTenant),
      logger,
    );
  }

  onApplicationBootstrap(): void {
    this.traces.start();
    this.counters.start();
    this.events.start();
    this.installing = this.installer.run();
    this.countersTimer = setInterval(
      () => this.counters.publish('switch', this.show()),
      this.config.COUNTERS_INTERVAL_MS,
    );
    // The data path's own Redis commands are not traced one by one: sampled frames get a span of their own instead.
    this.running = context.with(suppressTracing(context.active()), () => this.run());
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.scanTimer);
    clearInterval(this.countersTimer);
    this.blocking.disconnect();
    this.installer.stop();
    await Promise.all([this.running, this.installing]);
    await Promise.all([this.traces.stop(), this.counters.stop(), this.events.stop()]);
  }

  ports(): SwitchPort[] {
    return this.directory.ports();
  }

  setSampling(tenant: string, rate: number): void {
    if (!(rate >= 0 && rate <= 1)) {
      throw new ValidationError('rate must be a number from 0 to 1', ['rate: expected a number from 0 to 1']);
    }
    this.sampling.set(tenant, rate);
  }

  /** The tenant's running program, or a NotFoundError saying how to get one. */
  programOf(tenant: string): CompiledProgram {
    const program = this.installer.current().byTenant.get(tenant);
    if (!program) {
      throw new NotFoundError(`tenant ${tenant} has no program on the switch; submit one through the operator first`);
    }
    return program;
  }

  /** A tenant's weight in the program CPU budget (seed 000's fair sharing): its share is weight / sum(weights). */
  setCpuWeight(tenant: string, weight: number): void {
    if (!(weight > 0 && weight <= MAX_CPU_WEIGHT)) {
      throw new ValidationError(`weight must be a number above 0 and at most ${MAX_CPU_WEIGHT}`, [
        `weight: expected a number in (0, ${MAX_CPU_WEIGHT}]`,
      ]);
    }
    this.pipeline.setCpuWeight(tenant, weight);
  }

  cpuWeightOf(tenant: string): number {
    return this.pipeline.cpuWeights().get(tenant) ?? 1;
  }

  samplingOf(tenant: string): number {
    return this.sampling.get(tenant) ?? this.config.TRACE_SAMPLING_RATE;
  }

  /** Everything `GET /dataplane` shows, in the spirit of `ovs-dpctl show`. */
  show(): Record<string, unknown> {
    const cache = this.pipeline.cacheStats();
    return {
      batches: this.batches,
      ports: this.directory.ports().map((p) => ({ port: p.no, vm: p.vm, tenant: p.tenant, vlan: p.vlan })),
      macs: this.pipeline.macTable.size(),
      flowCache: cache ?? 'off',
      lookups: cache ? `hit:${cache.hits} missed:${cache.misses} lost:${cache.evictions}` : 'cache off',
      counters: this.pipeline.counters.snapshot(),
      traces: this.traces.snapshot(),
      sampling: Object.fromEntries(this.sampling),
      cpuWeights: Object.fromEntries(this.pipeline.cpuWeights()),
      programCpuNs: Object.fromEntries(this.pipeline.programCpuNs()),
      programs: this.installer.status(),
      waitingForCpu: Object.fromEntries([...this.waiting].map(([tenant, queue]) => [tenant, queue.length])),
      programEvents: this.events.snapshot(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async run(): Promise<void> {
    await this.rescan();
    let failures = 0;
    while (!this.stopped) {
      try {
        const entries = await this.reader.read(
          this.directory.ports(),
          this.waiting.size > 0 ? WAITING_BLOCK_MS : undefined,
        );
        if (entries.length === 0 && this.waiting.size === 0) {
          if (this.directory.ports().length === 0) await this.pause(this.config.PORT_SCAN_INTERVAL_MS);
          continue;
        }
        await this.forward(entries);
        this.batches += 1;
        failures = 0;
        this.lastError = undefined;
      } catch (error) {
        if (this.stopped) return;
        this.lastError = error instanceof Error ? error.message : String(error);
        if (failures++ % 20 === 0) this.logger.record('warn', `data path: ${this.lastError}`, { context: 'dataplane' });
        if (this.lastError.startsWith('NOGROUP')) await this.recreateGroups();
        // Whatever this batch read is pending again, waiting frames included: read it all anew, once.
        this.waiting.clear();
        this.reader.rereadPending();
        await this.pause(Math.min(50 * 2 ** failures, 2000));
      }
    }
  }

  /**
   * One batch: decide every frame, then deliver and acknowledge them all in one MULTI. Frames of a tenant whose
   * programs are over their CPU share wait, in order and unacknowledged (a restarted switch reads them again), up
   * to MAX_WAITING_PER_TENANT; beyond that they are dropped and counted as `cpu-budget`.
   */
  private async forward(entries: PortEntry[]): Promise<void> {
    const deliveries = new Map<SwitchPort, { frame: Buffer; trace: string[] }[]>();
    const touched = new Set<SwitchPort>();
    const acks = new Map<SwitchPort, string[]>();
    const delivered: [SwitchPort, number][] = [];
    const candidates: PortEntry[] = [];
    for (const queue of this.waiting.values()) candidates.push(...queue);
    this.waiting.clear();
    candidates.push(...entries);
    for (const entry of candidates) {
      const tenant = entry.port.tenant;
      const queue = this.waiting.get(tenant);
      if (queue || this.pipeline.mustWait(entry.port)) {
        if (!queue) this.waiting.set(tenant, [entry]);
        else if (queue.length < MAX_WAITING_PER_TENANT) queue.push(entry);
        else {
          this.pipeline.drop(entry, 'cpu-budget');
          acknowledge(acks, entry);
        }
        continue;
      }
      acknowledge(acks, entry);
      const rate = this.samplingOf(entry.port.tenant);
      const sampled = rate > 0 && Math.random() < rate;
      const verdict = this.pipeline.process(
        entry,
        sampled ? (ingress, view, decided) => this.trace(entry, ingress.frame, view, decided) : undefined,
      );
      if (verdict.kind !== 'forward') continue;
      for (const out of verdict.outPorts) {
        touched.add(out);
        const planned = deliveries.get(out);
        if (!this.writer.hasRoom(out, planned?.length ?? 0)) {
          this.pipeline.counters.dropped(entry.port, 'rx-full');
          continue;
        }
        if (planned) planned.push({ frame: entry.frame, trace: entry.trace });
        else deliveries.set(out, [{ frame: entry.frame, trace: entry.trace }]);
        delivered.push([out, entry.frame.length]);
      }
    }
    await this.writer.commit(deliveries, touched, acks);
    // Counted only once Redis holds them: a failed commit is read and decided again.
    for (const [port, bytes] of delivered) this.pipeline.counters.delivered(port, bytes);
  }

  private trace(entry: PortEntry, frame: Buffer, view: FrameView, verdict: Verdict): void {
    const fields = fieldsFromFlatList(entry.trace);
    const traceparent = fields['otel.traceparent'];
    const record = packetTrace({ port: entry.port, frame }, view, verdict, this.config.TRACE_SNAP_BYTES, traceparent);
    // A sampled frame gets a span, a child of the sender's, so its trace shows it crossing the switch.
    const parent = extractTraceFromStreamFields(fields);
    const span = tracer.startSpan('switch.forward', { kind: SpanKind.INTERNAL }, parent);
    span.setAttributes({
      'tenantlab.tenant.id': record.tenant,
      'tenantlab.switch.in_port': record.inPort,
      'tenantlab.switch.verdict': record.verdict,
      ...(record.dropReason ? { 'tenantlab.switch.drop_reason': record.dropReason } : {}),
    });
    span.end();
    this.traces.publish(record.tenant, { ...record, traceId: record.traceId ?? span.spanContext().traceId });
  }

  /** Where a tenant program's `mirror` and `report` go: the packet trace topic and the program events topic. */
  private hooksFor(tenant: string): ProgramHooks {
    return {
      mirror: (ctx) =>
        this.traces.publish(tenant, {
          tenant,
          mirrored: true,
          inPortNo: ctx.inPort,
          length: ctx.frame.length,
          timestampUs: Math.round((performance.timeOrigin + performance.now()) * 1000),
          firstBytes: ctx.frame.subarray(0, this.config.TRACE_SNAP_BYTES).toString('base64'),
        }),
      report: (event, fields) => {
        const message: ProgramEventMessage = {
          tenant,
          event,
          // Register values may be wider than 64 bits: decimal strings survive JSON, BigInts do not.
          fields: Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, reportValue(value)])),
          timestampUs: Math.round((performance.timeOrigin + performance.now()) * 1000),
        };
        this.events.publish(tenant, message);
      },
    };
  }

  private async rescan(): Promise<void> {
    try {
      const { attached, detached } = await this.directory.scan();
      for (const port of detached) {
        this.pipeline.detach(port);
        this.reader.forget(port);
        this.writer.forget(port);
      }
      for (const port of attached) this.pipeline.attach(port);
      if (attached.length + detached.length > 0) {
        this.logger.record('info', `ports: +${attached.length} -${detached.length}`, {
          context: 'dataplane',
          attached: attached.map((p) => p.vm),
          detached: detached.map((p) => p.vm),
        });
      }
    } catch (error) {
      this.logger.record('warn', `port scan failed: ${String(error)}`, { context: 'dataplane' });
    } finally {
      if (!this.stopped) this.scanTimer = setTimeout(() => void this.rescan(), this.config.PORT_SCAN_INTERVAL_MS);
    }
  }

  private async recreateGroups(): Promise<void> {
    for (const port of this.directory.ports()) await this.directory.ensureGroup(port.vm).catch(() => undefined);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
