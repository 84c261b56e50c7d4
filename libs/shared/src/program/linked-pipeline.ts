import type { ValidProgram } from './program.types';

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
