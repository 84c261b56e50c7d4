import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import {
  ConflictError,
  JsonLogger,
  NotFoundError,
  ProgramResources,
  type ReadinessCheck,
  validateProgram,
  ValidProgram,
} from '@tenantlab/shared';
import { ALLOCATOR_CONFIG, switchResources, tenantQuota } from '../config/allocator.config';
import { InsufficientCapacityError } from '../memory/insufficient-capacity.error';
import { cellsFor, MemoryMap, MemoryView, PageTable, type RegisterRequest } from '../memory/memory-map';
import { FairTurns } from './fair-turns';
import { LinkedPipeline, LinkedTenant, memoryMapOf, NO_PIPELINE, usedBy } from './linked-pipeline';
import { PipelineRepository } from './pipeline.repository';

export const CLOCK = Symbol('CLOCK');
export type Clock = () => number;

/**
 * Optimistic concurrency: a change that lost the race to another one starts again from the pipeline that won. Each
 * round some change wins, so this many rounds serve as many concurrent changes; beyond that the caller retries.
 */
export const MAX_COMMIT_ATTEMPTS = 16;

/** How often the allocator looks whether the pipeline it knows is still in Redis (issue 10). */
export const STORE_CHECK_INTERVAL_MS = 1000;

export interface SubmitResult {
  /** True when the tenant had no program before (HTTP 201), false when this one replaced its program (200). */
  readonly created: boolean;
  readonly version: number;
  readonly pageTable: PageTable;
  readonly resources: ProgramResources;
}

export interface MemoryReport extends MemoryView {
  /** The pipeline version this map belongs to. */
  readonly version: number;
}

/** The part of the allocator's config the admission check reads. */
export type AdmissionSettings = Parameters<typeof switchResources>[0] & Parameters<typeof tenantQuota>[0];

/**
 * Admission and linking (seed 004): the resource usage checker (the shared validator with the tenant's quota, then
 * the switch's free capacity), the run-time memory allocator's first placement, and the linker that produces the
 * next pipeline version. Redis holds the state: the memory map is rebuilt from the stored pipeline whenever
 * the version this process last saw is not the current one (at the first request after boot, or after another
 * allocator instance changed it).
 *
 * Redis that restarts empty loses the pipeline (issue 10). The allocator keeps the last pipeline it read or linked,
 * and when that is gone from Redis it links the same programs and page tables again, as version 1 of a new epoch
 * (so the switch installs it although its version went back). Until then `/ready` says `degraded`, and a change
 * waits for it, so no submission lands in the empty store on its own and drops every other tenant's program.
 */
@Injectable()
export class PipelineService implements OnApplicationBootstrap, OnApplicationShutdown {
  private cached: { key: string; map: MemoryMap } | undefined;
  /** The latest pipeline this process read from Redis or linked there. */
  private known: LinkedPipeline | undefined;
  /** The pipeline Redis lost, not linked again yet, and why the last try failed. */
  private lost: { pipeline: LinkedPipeline; error?: string } | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Changes run one at a time, tenants (and the re-link loop) taking turns: see FairTurns. */
  private readonly turns = new FairTurns();

  constructor(
    private readonly repository: PipelineRepository,
    @Inject(ALLOCATOR_CONFIG) private readonly config: AdmissionSettings,
    @Inject(CLOCK) private readonly now: Clock,
    @Optional() private readonly logger?: JsonLogger,
  ) {}

  onApplicationBootstrap(): void {
    void this.watch();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.watchTimer);
  }

  /** Readiness: `degraded` while a pipeline Redis lost is not linked again. */
  readiness(): ReadinessCheck {
    return {
      name: 'pipeline',
      check: () => Promise.resolve(this.known ? `version ${this.known.version}` : 'no pipeline linked'),
      degraded: () => this.degradedReasons(),
    };
  }

  degradedReasons(): string[] {
    if (!this.lost) return [];
    const { pipeline, error } = this.lost;
    const tenants = Object.keys(pipeline.tenants).sort().join(', ');
    return [
      `Redis lost the linked pipeline (restarted empty): version ${pipeline.version} with the programs of ${tenants} ` +
        `is not linked again yet${error ? ` (${error})` : ''}`,
    ];
  }

  /**
   * Validates the tenant's program, checks it fits next to every other tenant's, places its registers and links the
   * next pipeline. A program replacing the tenant's current one may reuse that one's memory, but nothing changes
   * (not the pipeline, not the map) when the new one is refused.
   */
  submit(tenant: string, vms: readonly string[], document: unknown): Promise<SubmitResult> {
    return this.turns.run(`tenant ${tenant}`, () => this.link(tenant, vms, document));
  }

  private async link(tenant: string, vms: readonly string[], document: unknown): Promise<SubmitResult> {
    const valid = validateProgram(document, { tenant, vms, quota: tenantQuota(this.config) });
    const { pipeline, result } = await this.change(`program ${valid.program.name} of tenant ${tenant}`, (current) => {
      const map = this.mapOf(current).clone();
      map.free(tenant);
      const pageTable = this.admit(current, map, valid);
      const linked: LinkedTenant = { program: valid, pageTable };
      return { tenants: { ...current.tenants, [tenant]: linked }, map, result: !current.tenants[tenant] };
    });
    return {
      created: result,
      version: pipeline.version,
      pageTable: pipeline.tenants[tenant].pageTable,
      resources: valid.resources,
    };
  }

  /** Unlinks the tenant's program and frees its memory, as a new pipeline version. */
  async remove(tenant: string): Promise<void> {
    await this.turns.run(`tenant ${tenant}`, () => this.unlink(tenant));
  }

  private async unlink(tenant: string): Promise<void> {
    await this.change(`removing the program of tenant ${tenant}`, (current) => {
      if (!current.tenants[tenant]) {
        throw new NotFoundError(
          `tenant ${tenant} has no program in the pipeline (version ${current.version}); nothing to remove`,
        );
      }
      const map = this.mapOf(current).clone();
      map.free(tenant);
      const tenants = Object.fromEntries(Object.entries(current.tenants).filter(([name]) => name !== tenant));
      return { tenants, map, result: undefined };
    });
  }

  /**
   * Seed 004's re-link: gives each tenant in `shares` that many slots (its registers resized together, each in
   * proportion to its declared size, see `resizedRegisters`) as one new pipeline version; every other tenant keeps its
   * slices where they are. The tenants re-linked are placed again largest first (first fit packs better that way), so
   * a re-linked tenant may move even when its share did not change. Returns undefined, writing nothing, when the
   * shares are the ones in force; throws InsufficientCapacityError when they do not fit beside the others.
   */
  relink(shares: ReadonlyMap<string, number>): Promise<LinkedPipeline | undefined> {
    return this.turns.run('the reallocation loop', () => this.resize(shares));
  }

  private async resize(shares: ReadonlyMap<string, number>): Promise<LinkedPipeline | undefined> {
    const { pipeline, result } = await this.change(
      'a run-time reallocation',
      (current) => {
        const moving = [...shares]
          .filter(([tenant]) => current.tenants[tenant] !== undefined)
          .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
        const unchanged = moving.every(([tenant, slots]) => {
          const linked = current.tenants[tenant];
          return resizedRegisters(linked.program.program.registers ?? [], slots).every(
            (register) => linked.pageTable[register.name]?.amount === cellsFor(register),
          );
        });
        const map = this.mapOf(current).clone();
        if (unchanged) return { tenants: current.tenants, map, result: false };
        for (const [tenant] of moving) map.free(tenant);
        const tenants = { ...current.tenants };
        for (const [tenant, slots] of moving) {
          const linked = current.tenants[tenant];
          const registers = resizedRegisters(linked.program.program.registers ?? [], slots);
          tenants[tenant] = { ...linked, pageTable: map.allocate(tenant, linked.program.program.name, registers) };
        }
        return { tenants, map, result: true };
      },
      (result) => result,
    );
    return result ? pipeline : undefined;
  }

  /** The pipeline in force; undefined before the first one was linked. */
  current(): Promise<LinkedPipeline | undefined> {
    return this.repository.current();
  }

  async pipeline(): Promise<LinkedPipeline> {
    const current = await this.read();
    if (!current) {
      throw new NotFoundError('no pipeline has been linked yet; submit a program with PUT /tenants/:tenant/program');
    }
    return current;
  }

  async memory(): Promise<MemoryReport> {
    const current = (await this.read()) ?? NO_PIPELINE;
    return { version: current.version, ...this.mapOf(current).view() };
  }

  /**
   * The resource usage checker: table entries and ops per packet against what other tenants leave free, then the
   * registers placed in `map` (which already lacks the tenant's old slices). Reports every shortage at once.
   */
  private admit(current: LinkedPipeline, map: MemoryMap, valid: ValidProgram): PageTable {
    const { tenant, program, resources } = valid;
    const capacity = switchResources(this.config);
    const shortages: string[] = [];
    const check = (needed: number, used: number, total: number, what: string): void => {
      const free = Math.max(0, total - used);
      if (needed > free) {
        shortages.push(`needs ${needed} ${what}, ${free} of ${total} are free (short by ${needed - free})`);
      }
    };
    check(resources.tableEntries, usedBy(current, 'tableEntries', tenant), capacity.tableEntries, 'table entries');
    check(
      resources.maxOpsPerPacket,
      usedBy(current, 'maxOpsPerPacket', tenant),
      capacity.opsPerPacket,
      'ops per packet (worst case, summed over all tenants)',
    );
    let pageTable: PageTable | undefined;
    try {
      pageTable = map.allocate(tenant, program.name, program.registers);
    } catch (error) {
      if (!(error instanceof InsufficientCapacityError)) throw error;
      shortages.push(...error.shortages);
    }
    if (shortages.length > 0 || pageTable === undefined) {
      throw new InsufficientCapacityError(tenant, program.name, shortages);
    }
    return pageTable;
  }

  /**
   * Reads the current pipeline, plans the next one from it and commits it only if nobody committed in between (see
   * PipelineRepository.commit); otherwise plans again from the winner. `plan` must not touch the cached map: it
   * works on a clone that becomes the cache once its pipeline is stored.
   */
  private async change<T>(
    what: string,
    plan: (current: LinkedPipeline) => { tenants: Record<string, LinkedTenant>; map: MemoryMap; result: T },
    /** False for a plan that changes nothing: then nothing is committed and the current pipeline is the answer. */
    commits: (result: T) => boolean = () => true,
  ): Promise<{ pipeline: LinkedPipeline; result: T }> {
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      let stored = await this.read();
      // Planned from an empty store, this change would drop every other tenant's program: link them again first.
      if (!stored && this.lost) stored = await this.restore();
      const current = stored ?? NO_PIPELINE;
      const { tenants, map, result } = plan(current);
      if (!commits(result)) return { pipeline: current, result };
      const next: LinkedPipeline = {
        version: current.version + 1,
        // A first version starts a new history (after a Redis that lost the old one, too): see LinkedPipeline.epoch.
        epoch: current.version === 0 || current.epoch === undefined ? randomUUID() : current.epoch,
        createdAt: new Date(this.now()).toISOString(),
        tenants,
      };
      if (await this.repository.commit(next)) {
        this.cached = { key: cacheKey(next), map };
        this.known = next;
        return { pipeline: next, result };
      }
    }
    throw new ConflictError(
      `${what} was not linked: other changes to the pipeline won ${MAX_COMMIT_ATTEMPTS} times in a row. Try again.`,
      { retriable: true },
    );
  }

  /** The current pipeline; notes a loss when Redis no longer holds the one this process knew. */
  private async read(): Promise<LinkedPipeline | undefined> {
    const current = await this.repository.current();
    if (current) this.known = current;
    else this.noticeGone();
    return current;
  }

  private noticeGone(): void {
    const known = this.known;
    if (!known || this.lost) return;
    this.known = undefined;
    // A pipeline without programs loses nothing: the next change starts a new history anyway.
    if (Object.keys(known.tenants).length === 0) return;
    this.lost = { pipeline: known };
    this.logger?.record('warn', `the linked pipeline (version ${known.version}) is gone from Redis: linking it again`, {
      context: 'pipeline',
    });
  }

  /**
   * Links the lost pipeline's programs and page tables again as version 1 of a new epoch, unless a pipeline was
   * linked meanwhile (by another allocator), which then stands. Returns what Redis holds afterwards; throws, staying
   * degraded, when Redis refuses (full, loading, not there).
   */
  private async restore(): Promise<LinkedPipeline | undefined> {
    const lost = this.lost;
    if (!lost) return this.read();
    const next: LinkedPipeline = {
      version: 1,
      epoch: randomUUID(),
      createdAt: new Date(this.now()).toISOString(),
      tenants: lost.pipeline.tenants,
    };
    try {
      const linked = await this.repository.commit(next);
      this.lost = undefined;
      if (!linked) return await this.read();
      this.known = next;
      this.logger?.record('info', `the lost pipeline's programs are linked again as version 1 of a new epoch`, {
        context: 'pipeline',
        tenants: Object.keys(next.tenants),
      });
      return next;
    } catch (error) {
      lost.error = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  /** Every STORE_CHECK_INTERVAL_MS: is the pipeline this process knows still there? If not, link it again. */
  private async watch(): Promise<void> {
    try {
      if (!this.known) await this.read();
      else if (!(await this.repository.exists())) this.noticeGone();
      if (this.lost) await this.restore();
    } catch {
      // Redis refused or is away: the next look tries again; a failed restore shows in degradedReasons.
    } finally {
      if (!this.stopped) this.watchTimer = setTimeout(() => void this.watch(), STORE_CHECK_INTERVAL_MS);
    }
  }

  private mapOf(pipeline: LinkedPipeline): MemoryMap {
    if (this.cached?.key !== cacheKey(pipeline)) {
      const map = memoryMapOf(pipeline, this.config.SWITCH_STAGES, this.config.REGISTER_CELLS_PER_STAGE);
      this.cached = { key: cacheKey(pipeline), map };
    }
    return this.cached.map;
  }
}

/** Which pipeline a cached memory map belongs to: a version number alone repeats once Redis has lost the history. */
function cacheKey(pipeline: LinkedPipeline): string {
  return `${pipeline.epoch ?? ''}/${pipeline.version}`;
}

/**
 * A program's registers resized to `slots`: the largest declared register gets `slots` entries and every other one
 * the same share of its declared size (at least one entry). The switch's utility report reads a tenant's slots back
 * from its page table the same way (services/switch utilitySlots).
 */
export function resizedRegisters(registers: readonly RegisterRequest[], slots: number): RegisterRequest[] {
  const largest = Math.max(1, ...registers.map((register) => register.size));
  return registers.map((register) => ({
    name: register.name,
    width: register.width,
    size: Math.max(1, Math.round((register.size * slots) / largest)),
  }));
}
