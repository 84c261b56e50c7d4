import { PROGRAM_LIMITS } from './program.constants';
import type { ProgramQuota, ValidProgram } from './program.types';

/**
 * Where one register lives in the switch's register memory: `amount` 64-bit cells from `offset` in `stage`'s big
 * array (seed 004). Every access goes through `physical = offset + (index mod amount)` (a 128-bit register takes
 * two cells per entry), so no index reaches outside the slice.
 */
export interface PageTableEntry {
  readonly stage: number;
  readonly offset: number;
  readonly amount: number;
}

/** A program's page table: register name to its slice. */
export type PageTable = Readonly<Record<string, PageTableEntry>>;

/** One tenant's part of the linked pipeline: its validated program and where its registers live. */
export interface LinkedTenant {
  readonly program: ValidProgram;
  readonly pageTable: PageTable;
}

/**
 * What the allocator links and the switch installs (seed 004's merged program): every tenant's program with its
 * page table. The system program dispatches on the VLAN id the switch tags each frame with, and the switch knows
 * each tenant's VLAN, so the pipeline is keyed by tenant and carries no VLAN itself.
 */
export interface LinkedPipeline {
  /** 1 for the first pipeline, one more for each change. */
  readonly version: number;
  /**
   * Names the history `version` counts in: new (random) at version 1, kept by each later version. When Redis loses
   * the pipeline and versions start again from 1, the new epoch tells the switch that a lower number is newer.
   * Absent only in pipelines written before epochs existed, which count as epoch "".
   */
  readonly epoch?: string;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly tenants: Readonly<Record<string, LinkedTenant>>;
}

/**
 * The switch's pipeline resources unless configured otherwise. The allocator hands out what the switch has, so both
 * default to these (SWITCH_STAGES and REGISTER_CELLS_PER_STAGE must match between them).
 */
export const SWITCH_RESOURCE_DEFAULTS = {
  stages: 8,
  registerCellsPerStage: 65_536,
} as const;

/**
 * What one tenant's program may use unless the allocator is configured otherwise (its TENANT_QUOTA_* variables);
 * benchmarks validate against it so what they run is what a lab would admit.
 */
export const DEFAULT_TENANT_QUOTA: ProgramQuota = {
  tables: 8,
  tableEntries: 4096,
  /** Sum of width x size over the tenant's registers; 1 Mbit is 16384 64-bit cells. */
  registerBits: 1_048_576,
  /** 64-bit counter cells (size, twice for kind `both`). */
  counters: 16_384,
  actionOpsPerPacket: 32,
  headerBytes: PROGRAM_LIMITS.headerBytes,
};

/**
 * Reads a linked pipeline as stored in Redis. Only trusted services write it, but a half-written value, a hand edit
 * or another version's format must stop here with a message naming what is wrong, not as a TypeError deep in the
 * switch's compiler or the allocator's linker.
 */
export function parseLinkedPipeline(raw: string): LinkedPipeline {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new Error(`the linked pipeline is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const problems = linkedPipelineProblems(value);
  if (problems.length > 0) throw new Error(`the linked pipeline is malformed: ${problems.join('; ')}`);
  return value as LinkedPipeline;
}

function linkedPipelineProblems(value: unknown): string[] {
  if (!isRecord(value)) return ['not an object'];
  const problems: string[] = [];
  if (!Number.isSafeInteger(value['version']) || (value['version'] as number) < 1) {
    problems.push('version must be a whole number from 1');
  }
  if (value['epoch'] !== undefined && (typeof value['epoch'] !== 'string' || value['epoch'] === '')) {
    problems.push('epoch must be a non-empty string when present');
  }
  const tenants = value['tenants'];
  if (!isRecord(tenants)) return [...problems, 'tenants must be an object'];
  for (const [tenant, linked] of Object.entries(tenants)) {
    if (!isRecord(linked)) problems.push(`tenants.${tenant} must be an object`);
    else {
      const valid = linked['program'];
      if (!isRecord(valid) || !isRecord(valid['program']) || valid['tenant'] !== tenant) {
        problems.push(`tenants.${tenant}.program must be that tenant's validated program`);
      }
      if (!isRecord(linked['pageTable'])) problems.push(`tenants.${tenant}.pageTable must be an object`);
    }
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
