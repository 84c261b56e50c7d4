import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { context, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  disconnectNow,
  epochMicros,
  JsonLogger,
  KAFKA_CLIENT,
  NotFoundError,
  PORT_CAPACITY_FRAMES,
  type ProgramEventMessage,
  REDIS_CLIENT,
  REDIS_KEYS,
  reportedFieldValue,
  TOPICS,
  type UtilityReportMessage,
  ValidationError,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { SWITCH_CONFIG, SwitchConfig } from '../config/switch.config';
import { HeldTally } from '../impairments/held-tally';
import { PortImpairments, type ShapeHooks } from '../impairments/port-impairments';
import { SwitchPipeline } from '../pipeline/switch-pipeline';
import { type CompiledProgram, type ProgramHooks, RegisterMemory, type ReportValue } from '../programs';
import { BatchForwarder } from './batch-forwarder';
import { ProgramInstaller } from './program-installer';
import { UtilityReporter } from './utility-reporter';
import { SwitchStageTimings } from './switch-stages';
import type { SwitchPort } from '../pipeline/switch-port';
import { PortDirectory } from '../ports/port-directory';
import { type PortEntry, PortReader, type ReadRound, PortWriter } from '../ports/port-io';
import { PortQuarantine } from '../ports/port-quarantine';
import { StoreLedger } from '../ports/store-ledger';
import { TenantPortShares } from '../ports/tenant-port-shares';
import { ReadScheduler, type TenantUsage } from '../ports/read-scheduler';
import { TxDoorbell } from '../ports/tx-doorbell';
import { KafkaBatchPublisher } from '../traces/kafka-batch.publisher';
import { type MirroredFrame, type PacketTrace } from '../traces/packet-trace';
import { PacketTraceSink } from '../traces/packet-trace.sink';

const tracer = trace.getTracer('tenantlab.switch');

/** What `switch.program-events` carries: one `report` op of a tenant program. */
export interface ProgramEvent {
  tenant: string;
  event: string;
  fields: Record<string, number | string>;
  timestampUs: number;
}

function reportValue(value: ReportValue): number | string {
  return typeof value === 'bigint' ? value.toString() : value;
}
const MAX_QUEUED_TRACES = 10_000;
/**
 * How long the data path waits, when nothing new came, before it tries frames waiting for CPU again. Each try's
 * first frame runs cold and is charged more than the frames after it, so trying every few milliseconds would spend
 * the tenant's budget on cold starts; a new frame from any VM still ends the wait at once. (The blocking read this
 * replaced asked for 5 ms, but Redis times blocked clients out on its 100 ms cron, so it waited about this long.)
 */
const WAITING_BLOCK_MS = 50;
/** The longest an idle data path waits for a tx write's notification before it reads anyway (a safety net). */
const IDLE_WAIT_MS = 250;
/** How often an idle data path polls when Redis does not send keyspace notifications. */
const POLL_MS = 2;
const TRACE_FLUSH_MS = 200;
/** After Redis restarted empty, a VM that has not come back by then stops holding the switch's readiness back. */
const CONVERGENCE_GIVE_UP_MS = 60_000;
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
  /** Each port's share of its tenant's budget of Redis memory, recounted when ports come or go. */
  private readonly shares: TenantPortShares;
  private readonly writer: PortWriter;
  private readonly reads: Redis;
  private readonly subscriber: Redis;
  private readonly doorbell: TxDoorbell;
  private readonly scheduler: ReadScheduler;
  private readonly quarantine = new PortQuarantine();
  /** Per VM port, what the switch does to the frames it delivers there (delay, loss, rate...), in place of netem. */
  readonly impairments: PortImpairments;
  private readonly heldTally = new HeldTally();
  /** Per sender VM, frames a switch before this one held in an impairment and never delivered: counted on attach. */
  private heldLeftOver = new Map<string, number>();
  private readonly shapeHooks: ShapeHooks = {
    hasRoom: (port, planned, bytes) => this.writer.hasRoom(port, planned, bytes),
    dropped: (from, reason) => this.pipeline.counters.dropped(from, reason),
  };
  /** Per VM port and store generation, what the switch took and gave: survives a Redis that restarts empty. */
  private readonly ledger = new StoreLedger();
  /** Per tenant, what this round's frames cost so far (for the scheduler), and whether it left frames behind. */
  private usage = new Map<string, TenantUsage>();
  private readonly traces: KafkaBatchPublisher<PacketTrace | MirroredFrame>;
  private readonly traceSink: PacketTraceSink;
  private readonly counters: KafkaBatchPublisher<unknown>;
  private readonly events: KafkaBatchPublisher<ProgramEvent>;
  private readonly installer: ProgramInstaller;
  private readonly utilityReports: KafkaBatchPublisher<UtilityReportMessage>;
  private readonly utility: UtilityReporter;
  private utilityTimer: NodeJS.Timeout | undefined;
  private installing: Promise<void> | undefined;
  private readonly sampling = new Map<string, number>();
  /** One batch's decisions and commit, with the frames waiting for CPU and the counts waiting for a commit's outcome. */
  private readonly batch: BatchForwarder;
  /** Where a frame's time goes in the switch (issue 11). */
  private readonly stages = new SwitchStageTimings();
  private running: Promise<void> | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private countersTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private batches = 0;
  private lastError: string | undefined;
  /** The run id of the Redis server last seen: a new one means the store restarted (empty, in a lab). */
  private storeRunId: string | undefined;

  constructor(
    @Inject(SWITCH_CONFIG) private readonly config: SwitchConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    private readonly logger: JsonLogger,
  ) {
    this.pipeline = new SwitchPipeline({
      flowCacheSize: config.FLOW_CACHE_SIZE,
      programCpu: { nsPerSecond: config.PROGRAM_CPU_NS_PER_SECOND, burstNs: config.PROGRAM_CPU_BURST_NS },
      floods:
        config.SWITCH_FLOOD_COPIES_PER_SECOND > 0
          ? { copiesPerSecond: config.SWITCH_FLOOD_COPIES_PER_SECOND, burstCopies: config.SWITCH_FLOOD_BURST_COPIES }
          : undefined,
    });
    this.directory = new PortDirectory(redis, (vm) => this.ledger.txRecreated(vm));
    // Never resend a commit sent before the connection dropped: Redis may have run it (see untilClosed).
    this.reads = redis.duplicate({ connectionName: 'switch:ports', autoResendUnfulfilledCommands: false });
    this.shares = new TenantPortShares({
      txMemoryBytes: config.TENANT_TX_MEMORY_BYTES,
      rxFrames: config.TENANT_RX_FRAMES,
      rxBytes: config.TENANT_RX_BYTES,
    });
    this.reader = new PortReader(
      this.reads,
      config.SWITCH_CONSUMER,
      PORT_CAPACITY_FRAMES,
      (port) => this.shares.of(port).txMemoryBytes,
    );
    this.subscriber = redis.duplicate({ connectionName: 'switch:doorbell' });
    this.doorbell = new TxDoorbell(this.subscriber, POLL_MS);
    this.scheduler = new ReadScheduler(config.SWITCH_TENANT_QUANTUM, config.SWITCH_BATCH);
    // The commit shares the reads' connection: Redis runs a round's commit before the next round's reads, sent
    // right behind it (see `run`), so the two take one round trip and a read never sees entries it has committed.
    this.writer = new PortWriter(this.reads, (port) => this.shares.rxCapacityOf(port));
    this.impairments = new PortImpairments(this.heldTally);
    // Packet traces carry the packet's own trace context in their headers, not a publish span's (issue 11).
    this.traces = new KafkaBatchPublisher(kafka, TOPICS.packetTraces, MAX_QUEUED_TRACES, TRACE_FLUSH_MS, logger, true);
    this.traceSink = new PacketTraceSink(this.traces, tracer, config.TRACE_SNAP_BYTES);
    this.batch = new BatchForwarder(
      this.pipeline,
      this.writer,
      this.quarantine,
      this.impairments,
      this.shapeHooks,
      this.ledger,
      this.traceSink,
      config.PROGRAM_CPU_WAIT_FRAMES,
      {
        usageOf: (tenant) => this.usageOf(tenant),
        charge: () => this.scheduler.charge(this.usage),
        sampled: (tenant) => this.sampled(tenant),
        quarantine: (port, reason) => this.quarantinePort(port, reason),
      },
      this.stages,
    );
    this.counters = new KafkaBatchPublisher(kafka, TOPICS.switchCounters, 100, config.COUNTERS_INTERVAL_MS, logger);
    this.events = new KafkaBatchPublisher(kafka, TOPICS.programEvents, MAX_QUEUED_TRACES, TRACE_FLUSH_MS, logger);
    // Each report carries its own span's context (the allocator's decision links to it): no publish span over it.
    this.utilityReports = new KafkaBatchPublisher(
      kafka,
      TOPICS.utilityReports,
      MAX_QUEUED_TRACES,
      TRACE_FLUSH_MS,
      logger,
      true,
    );
    const memory = new RegisterMemory(config.SWITCH_STAGES, config.REGISTER_CELLS_PER_STAGE);
    this.utility = new UtilityReporter(
      this.utilityReports,
      tracer,
      config.UTILITY_WINDOW_MS,
      Date.now,
      config.UTILITY_WINDOW_RESET === 'true'
        ? (linked) => Object.values(linked.pageTable).forEach((entry) => memory.clear(entry))
        : undefined,
    );
    this.installer = new ProgramInstaller(
      redis,
      redis.duplicate({ connectionName: 'switch:pipeline' }),
      memory,
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
    if (this.config.UTILITY_WINDOW_MS > 0) {
      this.utilityReports.start();
      // The installer swaps programs between batches on this same event loop, so a window closes between batches too.
      this.utilityTimer = setInterval(
        () => this.utility.closeWindow(this.installer.current()),
        this.config.UTILITY_WINDOW_MS,
      );
    }
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
    clearInterval(this.utilityTimer);
    this.doorbell.interrupt();
    disconnectNow(this.reads);
    disconnectNow(this.subscriber);
    this.installer.stop();
    await Promise.all([this.running, this.installing]);
    await Promise.all([this.traces.stop(), this.counters.stop(), this.events.stop(), this.utilityReports.stop()]);
  }

  ports(): SwitchPort[] {
    return this.directory.ports();
  }

  /** Per tenant, frames waiting because its programs are over their CPU share (`waitingForCpu` in GET /dataplane). */
  cpuWaiting(): Map<string, number> {
    return new Map(Object.entries(this.batch.waiting.snapshot()));
  }

  /** Per tenant, frames that have waited for CPU since the switch started (`waitedForCpu` in GET /dataplane). */
  cpuWaitsTotal(): Map<string, number> {
    return new Map(this.batch.cpuWaits);
  }

  /**
   * The share of a declared tenant's frames traced. A tenant is declared when the operator has given it a VLAN (the
   * registry the switch reads its ports from); a rate for any other name would sit unused, so it is refused (404).
   */
  async setSampling(tenant: string, rate: number): Promise<void> {
    if (!(rate >= 0 && rate <= 1)) {
      throw new ValidationError('rate must be a number from 0 to 1', ['rate: expected a number from 0 to 1']);
    }
    if ((await this.redis.hexists(REDIS_KEYS.tenantVlans, tenant)) !== 1) {
      throw new NotFoundError(`tenant ${tenant} is not declared: declare it on the operator (POST /tenants) first`);
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
      programCpuNs: this.pipeline.programCpuNs(),
      programs: this.installer.status(),
      ...this.quarantine.snapshot(this.directory.ports()),
      scheduler: this.scheduler.snapshot(),
      waitingForCpu: this.batch.waiting.snapshot(),
      waitedForCpu: Object.fromEntries(this.batch.cpuWaits),
      stages: this.stages.snapshot(),
      programEvents: this.events.snapshot(),
      utilityReports: this.utilityReports.snapshot(),
      storeLedger: this.ledger.snapshot(),
      ...(this.batch.uncommitted.size > 0 ? { awaitingCommitOutcome: this.batch.uncommitted.snapshot() } : {}),
      impairments: this.impairments.snapshot(),
      ...(this.heldLeftOver.size > 0 ? { impairmentsHeldByEarlierSwitch: Object.fromEntries(this.heldLeftOver) } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async run(): Promise<void> {
    if (!(await this.doorbell.enable(this.redis))) {
      this.logger.record('warn', `Redis refused keyspace notifications: the idle data path polls every ${POLL_MS} ms`, {
        context: 'dataplane',
      });
    }
    // Notifications are server configuration: a Redis that restarted empty has them off again.
    this.redis.on('ready', () => void this.doorbell.enable(this.redis));
    this.redis.on('ready', () => void this.noticeStoreLoss());
    await this.noticeStoreLoss();
    await this.takeHeldLeftOver();
    await this.rescan();
    let failures = 0;
    // The last round's commit, still in flight while the next round's reads go out behind it on the same connection.
    let committing: Promise<void> | undefined;
    while (!this.stopped) {
      try {
        // A ledger entry must land after every delivery it counts: the commit in flight answers first (a failed one
        // throws here, as it would below).
        if (this.ledger.pending()) {
          const inFlight = committing;
          committing = undefined;
          await inFlight;
          await this.ledger.flush(this.redis);
        }
        this.doorbell.arm();
        const [read, committed] = await Promise.allSettled([this.readRound(), committing]);
        committing = undefined;
        // A failed commit's entries are pending again, and so are the ones this read just took: the error below
        // drops them all, to be read anew.
        if (committed.status === 'rejected') throw committed.reason;
        if (read.status === 'rejected') throw read.reason;
        const { entries, pendingDone } = read.value;
        // Only now, the commit before it answered: what the read found tells how a failed commit ended.
        this.batch.reread(entries, pendingDone);
        // Frames held by an impairment fall due with no new frame to wake the data path: it waits no longer.
        const dueIn = this.impairments.nextDueIn(performance.now()) ?? Infinity;
        if (entries.length === 0 && dueIn > 0) {
          if (this.batch.waiting.size === 0) {
            const idle = this.directory.ports().length === 0 ? this.config.PORT_SCAN_INTERVAL_MS : IDLE_WAIT_MS;
            await this.doorbell.wait(Math.min(idle, dueIn));
            continue;
          }
          await this.doorbell.wait(Math.min(WAITING_BLOCK_MS, dueIn));
        } else if (entries.length > 0) this.doorbell.busy();
        committing = this.batch.forward(entries);
        this.batches += 1;
        failures = 0;
        this.lastError = undefined;
      } catch (error) {
        committing = undefined;
        if (this.stopped) return;
        this.lastError = error instanceof Error ? error.message : String(error);
        if (failures++ % 20 === 0) this.logger.record('warn', `data path: ${this.lastError}`, { context: 'dataplane' });
        // Whatever this batch read is pending again, waiting frames included: read it all anew, once.
        this.batch.waiting.clear();
        this.reader.rereadPending();
        await this.pause(Math.min(50 * 2 ** failures, 2000));
      }
    }
    // Stopping: the last commit either ran or left its entries pending for the next switch; nothing to count.
    await committing?.catch(() => undefined);
  }

  /** Whether to trace this frame of `tenant`: a draw at the tenant's sampling rate. */
  private sampled(tenant: string): boolean {
    const rate = this.samplingOf(tenant);
    return rate > 0 && Math.random() < rate;
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
          // Register values may be wider than 64 bits: decimal strings survive JSON, BigInts do not. Addresses read
          // as people write them: ipv4.src and ipv4.dst as dotted quads.
          fields: Object.fromEntries(
            Object.entries(fields).map(([name, value]) => [name, reportedFieldValue(name, reportValue(value))]),
          ),
          timestampUs: Math.round((performance.timeOrigin + performance.now()) * 1000),
        };
        this.events.publish(tenant, message);
      },
    };
  }

  private async rescan(): Promise<void> {
    try {
      const epoch = this.ledger.scanEpoch();
      const { attached, detached, faulty } = await this.directory.scan();
      for (const port of detached) {
        this.pipeline.detach(port);
        this.batch.uncommitted.portGone(port);
        this.reader.forget(port);
        this.writer.forget(port);
        this.quarantine.forget(port);
        this.impairments.detached(port, this.shapeHooks);
      }
      for (const port of attached) {
        this.pipeline.attach(port);
        const lost = this.heldLeftOver.get(port.vm) ?? 0;
        this.heldLeftOver.delete(port.vm);
        for (let i = 0; i < lost; i++) this.pipeline.counters.dropped(port, 'impaired-switch-restart');
      }
      if (attached.length + detached.length > 0) this.shares.recount(this.directory.ports());
      for (const [port, reason] of faulty) this.quarantinePort(port, reason);
      // A port counts as attached again after a store loss only once the operator has made its keys anew (it deletes
      // them when the VM registers again): a ledger entry written before that would be wiped unread.
      const listed = new Set(this.directory.ports().map((port) => port.vm));
      const held = this.ledger.held().filter((vm) => listed.has(vm));
      const ready = new Set(await this.directory.keysReady(held));
      this.ledger.attached(
        [...listed].filter((vm) => !held.includes(vm) || ready.has(vm)),
        epoch,
      );
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

  /**
   * One round of reads, as the scheduler plans it over the ports not in quarantine. What each port's read found
   * besides frames is settled here: entries dropped unread are counted, a port that faulted is quarantined, a
   * quarantined port that read cleanly is released, a stream that lost its group gets it back.
   */
  private async readRound(): Promise<{ entries: PortEntry[]; pendingDone: SwitchPort[] }> {
    const ports = this.directory.ports().filter((port) => this.quarantine.readable(port));
    // Only a port in quarantine when its read was planned is released by a clean read: one quarantined meanwhile (by
    // the last round's commit, answered just before this read) stays in.
    const onProbation = new Set(ports.filter((port) => this.quarantine.has(port)));
    const sentAtUs = epochMicros();
    const { entries, outcomes }: ReadRound = await this.reader.read(this.scheduler.plan(ports));
    this.stages.read(sentAtUs, entries);
    this.usage = new Map();
    const pendingDone: SwitchPort[] = [];
    for (const outcome of outcomes) {
      const { port } = outcome;
      if (outcome.fault !== undefined) {
        this.quarantinePort(port, outcome.fault);
        continue;
      }
      if (outcome.noGroup) {
        await this.directory.restoreGroup(port.vm).catch((error: unknown) => this.quarantinePort(port, String(error)));
        continue;
      }
      if (onProbation.has(port) && this.quarantine.has(port)) {
        this.quarantine.release(port);
        this.logger.record('info', `port of ${port.vm} released from quarantine`, { context: 'dataplane' });
      }
      const counters = this.pipeline.counters;
      if (outcome.overBound > 0) {
        counters.droppedUnread(port, 'tx-over-bound', outcome.overBound, outcome.overBoundBytes);
      }
      if (outcome.oversized > 0) {
        counters.droppedUnread(port, 'oversized-entry', outcome.oversized, outcome.oversizedBytes);
      }
      if (outcome.pendingDone) pendingDone.push(port);
      this.scheduler.observe(port, outcome.length);
      const usage = this.usageOf(port.tenant);
      usage.backlogged ||= outcome.length > outcome.read;
    }
    // Once per tx entry: a packed entry's frames share its id, and a frame after the first would only compare ids.
    let last: PortEntry['entry'] | undefined;
    for (const { port, id, entry } of entries) {
      if (entry !== last) this.ledger.read(port.vm, id, entry.frames);
      last = entry;
    }
    return { entries, pendingDone };
  }

  /** Wakes an idle data path: an impairment removed has frames to flush now. */
  wake(): void {
    this.doorbell.interrupt();
  }

  /** What a switch before this one left held in port impairments: counted as dropped as each sender's port attaches. */
  private async takeHeldLeftOver(): Promise<void> {
    try {
      this.heldLeftOver = await this.heldTally.takeLeftOver(this.redis);
    } catch (error) {
      this.logger.record('warn', `could not read the impairments' held counts: ${String(error)}`, {
        context: 'dataplane',
      });
    }
  }

  /** Why the switch has not converged after Redis restarted empty (its `/ready` says `degraded` meanwhile). */
  degradedReasons(): string[] {
    return this.ledger.degradedReasons(CONVERGENCE_GIVE_UP_MS);
  }

  /** A Redis with another run id is another server: whatever the old one held, this one does not. */
  private async noticeStoreLoss(): Promise<void> {
    // The ports as they were before this connection came back: a scan after it finds an empty registry.
    const served = this.directory.ports().map((port) => port.vm);
    try {
      const runId = /run_id:(\w+)/.exec(await this.redis.info('server'))?.[1];
      if (runId && this.storeRunId && runId !== this.storeRunId) {
        this.ledger.storeLost(served);
        this.batch.uncommitted.storeLost();
        this.logger.record('warn', 'Redis restarted empty: waiting for every port to be attached again', {
          context: 'dataplane',
        });
      }
      this.storeRunId = runId ?? this.storeRunId;
    } catch (error) {
      this.logger.record('warn', `could not read Redis's run id: ${String(error)}`, { context: 'dataplane' });
    }
  }

  private usageOf(tenant: string): TenantUsage {
    let usage = this.usage.get(tenant);
    if (!usage) this.usage.set(tenant, (usage = { frames: 0, cost: 0, backlogged: false }));
    return usage;
  }

  /** A port whose keys misbehave stops being served until a clean read; the others go on. */
  private quarantinePort(port: SwitchPort, reason: string): void {
    const first = !this.quarantine.has(port);
    this.quarantine.add(port, reason);
    if (first) this.logger.record('warn', `port of ${port.vm} quarantined: ${reason}`, { context: 'dataplane' });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
