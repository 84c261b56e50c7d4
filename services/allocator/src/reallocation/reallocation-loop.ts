import {
  context,
  type Link,
  ROOT_CONTEXT,
  type SpanContext,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import {
  injectTraceIntoKafkaHeaders,
  type JsonLogger,
  type KafkaHeaders,
  type LinkedPipeline,
  type ReallocationDecisionMessage,
  type UtilityReportMessage,
} from '@tenantlab/shared';
import { InsufficientCapacityError } from '../memory/insufficient-capacity.error';
import { cellsFor } from '../memory/memory-map';
import { NO_PIPELINE } from '../pipeline/linked-pipeline';
import { resizedRegisters } from '../pipeline/pipeline.service';
import { DEFAULT_UTILITY_POLICY, reallocateByUtility } from './utility-policy';
import { FIT_ATTEMPTS, heldCells, shareableSlots, shrunkShares } from './fit-policy';

/** What the loop needs of the pipeline: the one in force, and a re-link (PipelineService). */
export interface Relinker {
  current(): Promise<LinkedPipeline | undefined>;
  relink(shares: ReadonlyMap<string, number>): Promise<LinkedPipeline | undefined>;
}

/** Where decisions go: `allocator.decisions` (DecisionsRepository). */
export interface DecisionSink {
  publish(decision: ReallocationDecisionMessage, headers: KafkaHeaders): Promise<void>;
}

export interface ReallocationLoopOptions {
  mode: 'live' | 'static';
  stages: number;
  cellsPerStage: number;
  /** Most register bits one tenant may hold (its quota): no share grows past it. */
  quotaRegisterBits: number;
}

/** The refused messages kept for GET /reallocation. */
const REJECTED_KEPT = 20;
/** Decision-to-installed latencies kept for the percentiles. */
const LATENCIES_KEPT = 4096;

interface PendingReport {
  report: UtilityReportMessage;
  link: SpanContext | undefined;
}

export interface ReallocationStatus {
  mode: 'live' | 'static';
  reportsTaken: number;
  windowsDecided: number;
  /** Windows left undecided: their reports ran under a linking older than the last re-link. */
  staleWindows: number;
  /** Windows left undecided because no reported program saw a packet. */
  quietWindows: number;
  relinks: number;
  failedDecisions: number;
  lastError?: string;
  rejected: { count: number; last: { partition: number; offset: string; reason: string }[] };
  lastDecision?: ReallocationDecisionMessage;
  /** Decision committed → the switch installed that pipeline version, from the installedAtMs of its reports. */
  decisionToInstalledMs: { count: number; p50: number | null; p99: number | null; max: number | null; pending: number };
  /** Per tenant, the utility of its last report and the share of its windows above the target. */
  tenants: Record<string, { utility: number; slots: number; windows: number; satisfied: number }>;
}

/**
 * Seed 004's run-time memory allocator, closing its loop: takes each window's utility reports, runs the utility
 * policy once per window, re-links the pipeline with the new shares (live mode) and publishes the decision with the
 * trace context of a span linked to every report it used. The switch installs the re-linked version between batches
 * (ProgramInstaller); its next reports say when, which gives the decision-to-installed latency.
 */
export class ReallocationLoop {
  private readonly pending = new Map<number, Map<string, PendingReport>>();
  private readonly awaitingInstall = new Map<number, number>();
  private readonly latencies: number[] = [];
  private readonly rejected: ReallocationStatus['rejected'] = { count: 0, last: [] };
  private readonly tenants = new Map<string, ReallocationStatus['tenants'][string]>();
  private decisions = 0;
  private reportsTaken = 0;
  private staleWindows = 0;
  private quietWindows = 0;
  private relinks = 0;
  private failedDecisions = 0;
  private lastError: string | undefined;
  private lastDecision: ReallocationDecisionMessage | undefined;
  /** The last pipeline version this loop committed: reports counted under an older one are stale evidence. */
  private lastRelinkVersion = 0;
  private lastDecidedWindow = 0;
  private lastDecidedEndMs = 0;
  private deciding: Promise<void> = Promise.resolve();

  constructor(
    private readonly pipelines: Relinker,
    private readonly sink: DecisionSink,
    private readonly tracer: Tracer,
    private readonly options: ReallocationLoopOptions,
    private readonly logger: JsonLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** One valid report; `link` is the context of the switch span that measured it. */
  take(report: UtilityReportMessage, link: SpanContext | undefined): void {
    this.reportsTaken += 1;
    this.noteInstall(report);
    const stats = this.tenants.get(report.tenant) ?? { utility: 1, slots: report.slots, windows: 0, satisfied: 0 };
    stats.utility = report.utility;
    stats.slots = report.slots;
    stats.windows += 1;
    if (report.utility > DEFAULT_UTILITY_POLICY.target) stats.satisfied += 1;
    this.tenants.set(report.tenant, stats);
    if (report.window <= this.lastDecidedWindow) {
      // A window number already decided, yet closed later than that one: the switch restarted and counts again.
      if (report.windowEndMs <= this.lastDecidedEndMs) return;
      this.lastDecidedWindow = 0;
    }
    let window = this.pending.get(report.window);
    if (!window) this.pending.set(report.window, (window = new Map<string, PendingReport>()));
    window.set(report.tenant, { report, link });
  }

  /** A message refused by the report codec: counted and kept (the last few) for GET /reallocation. */
  reject(partition: number, offset: string, reason: string): void {
    this.rejected.count += 1;
    this.rejected.last.push({ partition, offset, reason });
    if (this.rejected.last.length > REJECTED_KEPT) this.rejected.last.shift();
  }

  /** Decides every window that has reports, oldest first, one at a time. Resolves when they are decided. */
  decidePending(): Promise<void> {
    this.deciding = this.deciding.then(async () => {
      for (const window of [...this.pending.keys()].sort((a, b) => a - b)) {
        const reports = [...(this.pending.get(window)?.values() ?? [])];
        this.pending.delete(window);
        this.lastDecidedWindow = Math.max(this.lastDecidedWindow, window);
        this.lastDecidedEndMs = Math.max(this.lastDecidedEndMs, ...reports.map(({ report }) => report.windowEndMs));
        await this.decide(window, reports);
      }
    });
    return this.deciding;
  }

  hasPending(): boolean {
    return this.pending.size > 0;
  }

  status(): ReallocationStatus {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number): number | null =>
      sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    return {
      mode: this.options.mode,
      reportsTaken: this.reportsTaken,
      windowsDecided: this.decisions,
      staleWindows: this.staleWindows,
      quietWindows: this.quietWindows,
      relinks: this.relinks,
      failedDecisions: this.failedDecisions,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      rejected: { count: this.rejected.count, last: [...this.rejected.last] },
      ...(this.lastDecision ? { lastDecision: this.lastDecision } : {}),
      decisionToInstalledMs: {
        count: sorted.length,
        p50: at(0.5),
        p99: at(0.99),
        max: sorted.length === 0 ? null : sorted[sorted.length - 1],
        pending: this.awaitingInstall.size,
      },
      tenants: Object.fromEntries([...this.tenants].map(([tenant, stats]) => [tenant, { ...stats }])),
    };
  }

  /** A report names the version it ran under and when the switch installed it: that closes a decision's latency. */
  private noteInstall(report: UtilityReportMessage): void {
    for (const [version, decidedAtMs] of this.awaitingInstall) {
      if (version === report.pipelineVersion) {
        this.latencies.push(Math.max(0, report.installedAtMs - decidedAtMs));
        if (this.latencies.length > LATENCIES_KEPT) this.latencies.shift();
        this.awaitingInstall.delete(version);
      } else if (version < report.pipelineVersion) {
        // A newer version was installed over it before any window closed under it: its own install went unseen.
        this.awaitingInstall.delete(version);
      }
    }
  }

  private async decide(window: number, reports: PendingReport[]): Promise<void> {
    if (reports.every(({ report }) => report.packets === 0)) {
      // Nothing ran: no evidence to decide on, and no decision (nor span) every window of a quiet lab.
      this.quietWindows += 1;
      return;
    }
    if (reports.some(({ report }) => report.pipelineVersion < this.lastRelinkVersion)) {
      // Counted under the linking before the last re-link: deciding on it would act on the same evidence twice.
      this.staleWindows += 1;
      return;
    }
    const links: Link[] = reports.flatMap(({ link }) => (link ? [{ context: link }] : []));
    const span = this.tracer.startSpan(
      'allocator.reallocate',
      {
        links,
        attributes: {
          'tenantlab.reallocation.mode': this.options.mode,
          'tenantlab.utility.window': window,
          'tenantlab.reallocation.tenants': reports.length,
        },
      },
      ROOT_CONTEXT,
    );
    const active = trace.setSpan(ROOT_CONTEXT, span);
    try {
      // Within the decision's span: the re-link's Redis commit (and the version entry the switch reads) is its child.
      const decision = await context.with(active, () =>
        this.plan(
          window,
          reports.map(({ report }) => report),
        ),
      );
      span.setAttribute('tenantlab.pipeline.version', decision.pipelineVersion ?? 0);
      this.lastDecision = decision;
      this.decisions += 1;
      await context.with(active, () => this.sink.publish(decision, injectTraceIntoKafkaHeaders({}, active)));
      this.lastError = undefined;
    } catch (error) {
      this.failedDecisions += 1;
      this.lastError = error instanceof Error ? error.message : String(error);
      span.recordException(error instanceof Error ? error : new Error(this.lastError));
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.lastError });
      this.logger.record('warn', `reallocation for window ${window} failed: ${this.lastError}`, {
        context: 'reallocation',
      });
    } finally {
      span.end();
    }
  }

  /** The policy's shares for the reporting tenants, re-linked in live mode; the decision that says what happened. */
  private async plan(window: number, reports: UtilityReportMessage[]): Promise<ReallocationDecisionMessage> {
    const current = (await this.pipelines.current()) ?? NO_PIPELINE;
    // A window in which a program saw no packet says nothing of its need: that tenant keeps what it holds (and a
    // quiet lab is not re-linked, which would restart its programs' state, every window).
    const known = reports.filter((report) => current.tenants[report.tenant] !== undefined && report.packets > 0);
    const { capacitySlots, maxSlots } = this.capacity(current, new Set(known.map((report) => report.tenant)));
    let shares = new Map(known.map((report) => [report.tenant, report.slots]));
    let pipelineVersion: number | null = null;
    if (this.options.mode === 'live' && known.length > 0) {
      const policy = reallocateByUtility(
        known.map(({ tenant, slots, utility }) => ({ tenant, slots, utility })),
        { ...DEFAULT_UTILITY_POLICY, capacity: capacitySlots },
      );
      shares = new Map([...policy].map(([tenant, slots]) => [tenant, Math.min(slots, maxSlots.get(tenant) ?? slots)]));
      const relinked = await this.relinkFitting(shares);
      shares = relinked.shares;
      if (relinked.pipeline) {
        pipelineVersion = relinked.pipeline.version;
        this.lastRelinkVersion = pipelineVersion;
        this.relinks += 1;
      }
    }
    const decidedAtMs = this.now();
    if (pipelineVersion !== null) this.awaitingInstall.set(pipelineVersion, decidedAtMs);
    return {
      decision: this.decisions + 1,
      mode: this.options.mode,
      window,
      decidedAtMs,
      capacitySlots,
      pipelineVersion,
      shares: known.map(({ tenant, utility, slots }) => ({
        tenant,
        utility,
        slotsBefore: slots,
        slotsAfter: shares.get(tenant) ?? slots,
      })),
    };
  }

  /** Re-links `shares`; when first fit cannot place them (fragmentation), tries them a little smaller. */
  private async relinkFitting(
    shares: Map<string, number>,
  ): Promise<{ shares: Map<string, number>; pipeline: LinkedPipeline | undefined }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { shares, pipeline: await this.pipelines.relink(shares) };
      } catch (error) {
        if (!(error instanceof InsufficientCapacityError) || attempt >= FIT_ATTEMPTS) throw error;
        shares = shrunkShares(shares);
      }
    }
  }

  /**
   * The slots the reporting tenants share: the cells nobody else holds (times the packing slack), counted in the
   * costliest tenant's cells per slot; and each tenant's most slots under its register quota.
   */
  private capacity(
    current: LinkedPipeline,
    reporting: ReadonlySet<string>,
  ): { capacitySlots: number; maxSlots: Map<string, number> } {
    let held = 0;
    let cellsPerSlot = 1;
    const maxSlots = new Map<string, number>();
    for (const [tenant, linked] of Object.entries(current.tenants)) {
      const registers = linked.program.program.registers;
      if (!reporting.has(tenant)) {
        held += heldCells(linked.pageTable);
        continue;
      }
      // Per slot: the cells and bits of the registers resized to a large share, divided back.
      const probe = 1 << 16;
      const resized = resizedRegisters(registers, probe);
      cellsPerSlot = Math.max(cellsPerSlot, resized.reduce((total, r) => total + cellsFor(r), 0) / probe);
      const bitsPerSlot = resized.reduce((total, r) => total + r.width * r.size, 0) / probe;
      maxSlots.set(tenant, Math.max(1, Math.floor(this.options.quotaRegisterBits / Math.max(1, bitsPerSlot))));
    }
    const cells = this.options.stages * this.options.cellsPerStage - held;
    return { capacitySlots: shareableSlots(cells, cellsPerSlot), maxSlots };
  }
}
