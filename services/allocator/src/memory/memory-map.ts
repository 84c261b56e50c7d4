import { InsufficientCapacityError } from './insufficient-capacity.error';

/** A register as the memory map needs it: its name, cell width in bits and entries. */
export interface RegisterRequest {
  readonly name: string;
  readonly width: number;
  readonly size: number;
}

/**
 * Where a register lives: `amount` cells from `offset` in `stage`'s register array. The switch reaches entry `virt`
 * through the page table (seed 004): `phys = offset + (virt % amount)` for registers of width 64 or less; a 128-bit
 * entry spans two consecutive cells, so there `phys = offset + 2 * (virt % (amount / 2))`.
 */
import type { PageTable, PageTableEntry } from '@tenantlab/shared';

// The page table is the allocator's and the switch's shared contract; defined in @tenantlab/shared.
export type { PageTable, PageTableEntry };

export interface SliceView {
  readonly tenant: string;
  readonly program: string;
  readonly register: string;
  readonly offset: number;
  readonly amount: number;
}

export interface FreeRange {
  readonly offset: number;
  readonly amount: number;
}

export interface StageView {
  readonly stage: number;
  readonly cells: number;
  readonly usedCells: number;
  readonly freeCells: number;
  /** 1 - largest free range / free cells: 0 when nothing is free or all free cells are one range. */
  readonly fragmentation: number;
  readonly slices: readonly SliceView[];
  readonly freeRanges: readonly FreeRange[];
}

export interface MemoryView {
  readonly cellsPerStage: number;
  readonly stages: readonly StageView[];
}

/** Cells a register takes: one 64-bit cell per entry, two for 128-bit entries. */
export function cellsFor(register: Pick<RegisterRequest, 'width' | 'size'>): number {
  return register.width > 64 ? 2 * register.size : register.size;
}

/**
 * The switch's register memory: per stage one array of 64-bit cells (seed 004: "one big array"), cut into slices
 * that each hold one register of one tenant's program. Pure bookkeeping: no I/O, so the allocator can rebuild it
 * from the stored linked pipeline at any time.
 */
export class MemoryMap {
  /** Per stage, the slices sorted by offset. */
  private slices: SliceView[][];

  constructor(
    readonly stageCount: number,
    readonly cellsPerStage: number,
  ) {
    this.slices = Array.from({ length: stageCount }, () => []);
  }

  clone(): MemoryMap {
    const copy = new MemoryMap(this.stageCount, this.cellsPerStage);
    copy.slices = this.slices.map((stage) => [...stage]);
    return copy;
  }

  holds(tenant: string): boolean {
    return this.slices.some((stage) => stage.some((slice) => slice.tenant === tenant));
  }

  /**
   * Places every register of the program, first fit: for each register in declaration order, the lowest stage and
   * lowest offset with enough contiguous free cells. All or nothing: when one register does not fit, nothing is
   * placed and the error names that register, what it needs and the largest free range.
   */
  allocate(tenant: string, program: string, registers: readonly RegisterRequest[]): PageTable {
    if (this.holds(tenant)) {
      throw new Error(`tenant ${tenant} already holds register memory; free it before allocating again`);
    }
    const scratch = this.clone();
    const pageTable: Record<string, PageTableEntry> = {};
    for (const register of registers) {
      const amount = cellsFor(register);
      const place = scratch.firstFit(amount);
      if (place === undefined) {
        throw new InsufficientCapacityError(tenant, program, [scratch.shortage(program, register.name, amount)]);
      }
      scratch.insert(place.stage, { tenant, program, register: register.name, offset: place.offset, amount });
      pageTable[register.name] = { stage: place.stage, offset: place.offset, amount };
    }
    this.slices = scratch.slices;
    return pageTable;
  }

  /**
   * Puts a slice back where a stored pipeline says it is (rebuilding the map at boot). Throws when the slice lies
   * outside the switch or overlaps another: the stored pipeline does not match this switch's configuration.
   */
  restore(tenant: string, program: string, register: string, entry: PageTableEntry): void {
    const { stage, offset, amount } = entry;
    const where = `register ${program}.${register} of tenant ${tenant} at stage ${stage}, cells ${offset}-${offset + amount - 1}`;
    if (!Number.isInteger(stage) || stage < 0 || stage >= this.stageCount) {
      throw new Error(`${where}: the switch has stages 0-${this.stageCount - 1}`);
    }
    if (!Number.isInteger(offset) || !Number.isInteger(amount) || offset < 0 || amount < 1) {
      throw new Error(`${where}: not a valid slice`);
    }
    if (offset + amount > this.cellsPerStage) {
      throw new Error(`${where}: a stage has ${this.cellsPerStage} cells`);
    }
    const overlap = this.slices[stage].find((s) => s.offset < offset + amount && offset < s.offset + s.amount);
    if (overlap) {
      throw new Error(`${where}: overlaps register ${overlap.program}.${overlap.register} of tenant ${overlap.tenant}`);
    }
    this.insert(stage, { tenant, program, register, offset, amount });
  }

  /** Releases every slice the tenant holds; returns how many cells that frees. */
  free(tenant: string): number {
    let freed = 0;
    this.slices = this.slices.map((stage) =>
      stage.filter((slice) => {
        if (slice.tenant !== tenant) return true;
        freed += slice.amount;
        return false;
      }),
    );
    return freed;
  }

  view(): MemoryView {
    return {
      cellsPerStage: this.cellsPerStage,
      stages: this.slices.map((slices, stage) => {
        const freeRanges = this.freeRanges(stage);
        const freeCells = freeRanges.reduce((total, range) => total + range.amount, 0);
        const largest = Math.max(0, ...freeRanges.map((range) => range.amount));
        return {
          stage,
          cells: this.cellsPerStage,
          usedCells: this.cellsPerStage - freeCells,
          freeCells,
          fragmentation: freeCells === 0 ? 0 : 1 - largest / freeCells,
          slices: slices.map((slice) => ({ ...slice })),
          freeRanges,
        };
      }),
    };
  }

  private freeRanges(stage: number): FreeRange[] {
    const ranges: FreeRange[] = [];
    let next = 0;
    for (const slice of this.slices[stage]) {
      if (slice.offset > next) ranges.push({ offset: next, amount: slice.offset - next });
      next = slice.offset + slice.amount;
    }
    if (next < this.cellsPerStage) ranges.push({ offset: next, amount: this.cellsPerStage - next });
    return ranges;
  }

  private firstFit(amount: number): { stage: number; offset: number } | undefined {
    for (let stage = 0; stage < this.stageCount; stage++) {
      const range = this.freeRanges(stage).find((r) => r.amount >= amount);
      if (range) return { stage, offset: range.offset };
    }
    return undefined;
  }

  private shortage(program: string, register: string, amount: number): string {
    let largest: { stage: number; amount: number } | undefined;
    for (let stage = 0; stage < this.stageCount; stage++) {
      for (const range of this.freeRanges(stage)) {
        if (!largest || range.amount > largest.amount) largest = { stage, amount: range.amount };
      }
    }
    const free = largest
      ? `the largest free range is ${largest.amount} (stage ${largest.stage})`
      : 'no register cell is free';
    const stageLimit = amount > this.cellsPerStage ? ` (a stage has ${this.cellsPerStage} cells)` : '';
    return `register ${program}.${register} needs ${amount} contiguous cells${stageLimit}; ${free}`;
  }

  private insert(stage: number, slice: SliceView): void {
    const slices = this.slices[stage];
    // Stryker disable next-line EqualityOperator: slices of a stage never share an offset, so > and >= agree
    const at = slices.findIndex((s) => s.offset > slice.offset);
    slices.splice(at === -1 ? slices.length : at, 0, slice);
  }
}
