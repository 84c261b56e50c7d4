import { PACKING_SLACK, type RegisterRequest } from '@tenantlab/allocator';
import { hitRatio, type PageTable, type ValidProgram } from '@tenantlab/shared';
import {
  type CompiledProgram,
  compileProgram,
  type ProgramCodeCache,
  type ProgramHooks,
  type RegisterMemory,
} from '@tenantlab/switch';

// What both parts of the `allocation` benchmark (seed 004) share: the switch's register memory and how a flow-table
// program is linked, run and read in-process.

/** The switch's register memory in this experiment: two stages of 32768 cells. */
export const STAGES = 2;
export const CELLS_PER_STAGE = 32_768;
/** First fit leaves gaps: the policy shares out this much of the cells there are, as the allocator's loop does. */
export { PACKING_SLACK };
/** Each slot is a key cell and a count cell; a little is left for first-fit's fragmentation. */
export const CELLS_PER_SLOT = 2;
export const CAPACITY_SLOTS = Math.floor(((STAGES * CELLS_PER_STAGE) / CELLS_PER_SLOT) * PACKING_SLACK);

const NO_HOOKS: ProgramHooks = { mirror: () => undefined, report: () => undefined };

/** flow-table's registers at `slots` entries each: the allocator resizes them together. */
export function flowTableRegisters(slots: number): RegisterRequest[] {
  return [
    { name: 'keys', width: 32, size: slots },
    { name: 'counts', width: 32, size: slots },
  ];
}

/** A tenant's program compiled on its page table, without mirror or report hooks. */
export function compileLinked(
  valid: ValidProgram,
  pageTable: PageTable,
  memory: RegisterMemory,
  codes: ProgramCodeCache,
): CompiledProgram {
  return compileProgram(valid, pageTable, memory, NO_HOOKS, codes);
}

/** Packets a compiled flow-table saw and its memory missed since it was compiled (its `packets`, `misses` counters). */
export function countsOf(program: CompiledProgram): { packets: number; misses: number } {
  return { packets: program.counter('packets', 0).packets, misses: program.counter('misses', 0).packets };
}

/** The utility of a compiled flow-table since it was compiled: its memory hit ratio (1 without packets). */
export function utilityOf(program: CompiledProgram): number {
  const { packets, misses } = countsOf(program);
  return hitRatio(packets, misses);
}
