import {
  disconnectNow,
  JsonLogger,
  type LinkedPipeline,
  type LinkedTenant,
  parseLinkedPipeline,
  REDIS_KEYS,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import {
  type CompiledProgram,
  compileProgram,
  ProgramCodeCache,
  type ProgramHooks,
  type RegisterMemory,
} from '../programs';

export interface InstalledPrograms {
  version: number;
  /** The pipeline history `version` counts in (LinkedPipeline.epoch); "" before any pipeline. */
  epoch: string;
  byTenant: ReadonlyMap<string, CompiledProgram>;
  /** Each tenant's program and page table as linked (what its utility report names: program, slots). */
  linked: ReadonlyMap<string, LinkedTenant>;
  /** Epoch milliseconds when this version was handed to the data path (0 before any). */
  installedAtMs: number;
}

const NOTHING_INSTALLED: InstalledPrograms = {
  version: 0,
  epoch: '',
  byTenant: new Map(),
  linked: new Map(),
  installedAtMs: 0,
};

const BLOCK_MS = 1000;

/**
 * Follows the allocator's linked pipeline (the `alloc:{pipeline}:versions` stream) and installs each new version:
 * every tenant program is compiled once into closures; a tenant whose program and page table did not change keeps
 * its compiled instance (and so its table entries), and tenants running the same program document share its compiled
 * code, each with its own state (registers, counters, entries). All or nothing: if any program fails to compile, the running
 * version stays. `install` hands the new set to the data path, which swaps it between batches.
 */
export class ProgramInstaller {
  private installed: InstalledPrograms = NOTHING_INSTALLED;
  private readonly fingerprints = new Map<string, string>();
  private readonly codes = new ProgramCodeCache();
  private stopped = false;
  private lastError: string | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly blocking: Redis,
    private readonly memory: RegisterMemory,
    private readonly hooksFor: (tenant: string) => ProgramHooks,
    private readonly install: (programs: InstalledPrograms) => void,
    private readonly logger: JsonLogger,
  ) {}

  current(): InstalledPrograms {
    return this.installed;
  }

  status(): { version: number; epoch: string; tenants: string[]; lastError?: string } {
    return {
      version: this.installed.version,
      epoch: this.installed.epoch,
      tenants: [...this.installed.byTenant.keys()],
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async run(): Promise<void> {
    let lastId: string | undefined;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (lastId === undefined) {
          // Where the version stream ends, then the current pipeline: a version announced in between is installed
          // by this refresh and read again from the stream, which is harmless; none can slip through unseen.
          const [last] = await this.redis.xrevrange(REDIS_KEYS.pipelineVersions, '+', '-', 'COUNT', 1);
          const startAt = last?.[0] ?? '0-0';
          await this.refresh();
          lastId = startAt;
        }
        const reply = await this.blocking.xread('BLOCK', BLOCK_MS, 'STREAMS', REDIS_KEYS.pipelineVersions, lastId);
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length > 0) {
          lastId = entries[entries.length - 1][0];
          await this.refresh();
        } else if (this.installed.version > 0 && (await this.redis.exists(REDIS_KEYS.pipelineCurrent)) === 0) {
          // A Redis that restarted empty announces nothing: only a quiet look finds the pipeline gone.
          await this.refresh();
        }
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        if (failures++ % 20 === 0) this.logger.record('warn', `pipeline versions unreadable: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures, 2000)));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    disconnectNow(this.blocking);
  }

  /**
   * Reads the current pipeline and installs it if it is newer than what runs. Whatever is wrong with it (unreadable,
   * or a program that does not compile) leaves the running version in place and shows in `status().lastError`.
   */
  async refresh(): Promise<void> {
    const raw = await this.redis.get(REDIS_KEYS.pipelineCurrent);
    if (raw === null) {
      if (this.installed.version > 0) this.forget();
      return;
    }
    let pipeline: LinkedPipeline;
    try {
      pipeline = parseLinkedPipeline(raw);
    } catch (error) {
      this.refuse(`the pipeline in ${REDIS_KEYS.pipelineCurrent} was not installed: ${errorMessage(error)}`);
      return;
    }
    const sameHistory = (pipeline.epoch ?? '') === this.installed.epoch;
    if (sameHistory && pipeline.version <= this.installed.version) {
      // What Redis holds is what runs (or older): nothing is pending, so no earlier refusal applies any more.
      if (pipeline.version === this.installed.version) this.lastError = undefined;
      return;
    }
    try {
      this.apply(pipeline);
      this.lastError = undefined;
    } catch (error) {
      this.refuse(`pipeline version ${pipeline.version} not installed: ${errorMessage(error)}`);
    }
  }

  /**
   * Redis no longer holds a pipeline although one runs here: it restarted empty, and the allocator and the operator
   * now know of no program. Running the old ones would make the switch disagree with both, so nothing runs until
   * tenants install programs again (a new epoch).
   */
  private forget(): void {
    const was = this.installed;
    this.fingerprints.clear();
    this.codes.retain([]);
    this.installed = NOTHING_INSTALLED;
    this.install(this.installed);
    this.lastError = undefined;
    this.logger.record(
      'warn',
      `the pipeline is gone from Redis (restarted empty?); version ${was.version} of epoch ${was.epoch || '""'} removed, no program runs until tenants install again`,
      { context: 'programs', tenants: [...was.byTenant.keys()] },
    );
  }

  private refuse(problem: string): void {
    this.lastError = problem;
    this.logger.record('error', `${problem}; version ${this.installed.version} keeps running`, { context: 'programs' });
  }

  private apply(pipeline: LinkedPipeline): void {
    // Another history: no program of it is the one running here, even where name, version and cells match.
    if ((pipeline.epoch ?? '') !== this.installed.epoch) this.fingerprints.clear();
    const next = new Map<string, CompiledProgram>();
    const fingerprints = new Map<string, string>();
    const fresh: [string, LinkedTenant][] = [];
    for (const [tenant, linked] of Object.entries(pipeline.tenants)) {
      const fingerprint = JSON.stringify([
        linked.program.program.name,
        linked.program.program.version,
        linked.pageTable,
      ]);
      fingerprints.set(tenant, fingerprint);
      const running = this.installed.byTenant.get(tenant);
      if (running && this.fingerprints.get(tenant) === fingerprint) next.set(tenant, running);
      else {
        next.set(
          tenant,
          compileProgram(linked.program, linked.pageTable, this.memory, this.hooksFor(tenant), this.codes),
        );
        fresh.push([tenant, linked]);
      }
    }
    // Only now that every program compiled: a new program starts from zeroed registers, never another's leftovers.
    for (const [, linked] of fresh) for (const entry of Object.values(linked.pageTable)) this.memory.clear(entry);
    this.fingerprints.clear();
    for (const [tenant, fingerprint] of fingerprints) this.fingerprints.set(tenant, fingerprint);
    this.codes.retain(Object.values(pipeline.tenants).map((linked) => linked.program.program));
    this.installed = {
      version: pipeline.version,
      epoch: pipeline.epoch ?? '',
      byTenant: next,
      linked: new Map(Object.entries(pipeline.tenants)),
      installedAtMs: Date.now(),
    };
    this.install(this.installed);
    this.logger.record('info', `pipeline version ${pipeline.version} installed`, {
      context: 'programs',
      tenants: [...next.keys()],
      compiled: fresh.map(([tenant]) => tenant),
    });
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
