import { ValidationError } from '@tenantlab/shared';
import type { RegisterWidth } from '@tenantlab/shared';

import type { PageTable, PageTableEntry } from '@tenantlab/shared';

// The page table is the allocator's and the switch's shared contract; defined in @tenantlab/shared.
export type { PageTable, PageTableEntry };

/**
 * The switch's register memory (seed 004: "one big array" per stage) of 64-bit cells. Each stage is two
 * Uint32Arrays, the low and the high halves of its cells, rather than one BigUint64Array: registers of 32 bits or
 * less (counters, sketches, flags: the common case) then never touch a BigInt on the packet path. Measured on this
 * machine (Node 20, 2e7 read-add-writes of a 32-bit cell at scattered indexes): 1.7 ns each with the split, 11.6 ns
 * through a BigUint64Array (converting to and from BigInt dominates).
 */
export class RegisterMemory {
  readonly lo: readonly Uint32Array[];
  readonly hi: readonly Uint32Array[];

  constructor(
    readonly stages: number,
    readonly cellsPerStage: number,
  ) {
    if (!Number.isSafeInteger(stages) || stages < 1 || !Number.isSafeInteger(cellsPerStage) || cellsPerStage < 1) {
      throw new RangeError('register memory needs at least one stage of at least one cell');
    }
    this.lo = Array.from({ length: stages }, () => new Uint32Array(cellsPerStage));
    this.hi = Array.from({ length: stages }, () => new Uint32Array(cellsPerStage));
  }

  /**
   * Zeroes a slice before a program that was just given it runs: the cells may have held another tenant's state,
   * and reading it would leak that tenant's data across the isolation boundary.
   */
  clear(entry: PageTableEntry): void {
    const end = Math.min(entry.offset + entry.amount, this.cellsPerStage);
    this.lo[entry.stage]?.fill(0, entry.offset, end);
    this.hi[entry.stage]?.fill(0, entry.offset, end);
  }

  /** A copy of `count` cells from `from` of `stage` as 64-bit values (for the control plane and tests). */
  cells(stage: number, from: number, count: number): bigint[] {
    const out: bigint[] = [];
    for (let cell = from; cell < from + count; cell++) {
      out.push((BigInt(this.hi[stage][cell]) << 32n) | BigInt(this.lo[stage][cell]));
    }
    return out;
  }
}

/**
 * One register of one tenant: its page-table entry over the stage's cells. Every access maps the index through
 * `phys = offset + (index mod amount)` (128-bit registers take two consecutive cells per entry: low half first), so
 * whatever index a program computes, the cell is inside the tenant's slice: this is the isolation boundary.
 *
 * Indexes are first made unsigned integers: fractions are truncated, NaN and infinities count as 0, and negative
 * numbers wrap (Euclidean modulo), so -1 is the last entry. Values are masked to the register's width.
 */
export class RegisterSlice {
  private readonly lo: Uint32Array;
  private readonly hi: Uint32Array;
  private readonly offset: number;
  private readonly amount: number;
  private readonly bigAmount: bigint;
  private readonly cellsPerEntry: number;
  /** The narrow mask (widths up to 32); 0xffffffff for wider registers' low cell. */
  private readonly mask: number;

  constructor(
    memory: RegisterMemory,
    readonly register: string,
    readonly width: RegisterWidth,
    entry: PageTableEntry,
  ) {
    this.cellsPerEntry = width === 128 ? 2 : 1;
    const problem = pageTableProblem(memory, entry, this.cellsPerEntry);
    if (problem !== undefined) {
      throw new ValidationError(`Page table entry for register ${register} rejected: ${problem}.`, [
        `${register}: ${problem}`,
      ]);
    }
    this.lo = memory.lo[entry.stage];
    this.hi = memory.hi[entry.stage];
    this.offset = entry.offset;
    // The page table counts cells (the allocator's unit); a 128-bit entry takes two of them.
    this.amount = entry.amount / this.cellsPerEntry;
    this.bigAmount = BigInt(this.amount);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: 2 ** 32 - 1 is 0xffffffff, and only registers of 32 bits or less use the mask
    this.mask = width >= 32 ? 0xffffffff : 2 ** width - 1;
  }

  /** The first cell of the entry `index` maps to. */
  cell(index: number): number {
    let entry = Math.trunc(index) % this.amount;
    if (entry !== entry) entry = 0;
    else if (entry < 0) entry += this.amount;
    return this.offset + entry * this.cellsPerEntry;
  }

  /** `cell` for an index wider than 32 bits. */
  cellOfBig(index: bigint): number {
    let entry = index % this.bigAmount;
    if (entry < 0n) entry += this.bigAmount;
    return this.offset + Number(entry) * this.cellsPerEntry;
  }

  /** For registers of 32 bits or less. */
  readNarrow(cell: number): number {
    return this.lo[cell];
  }

  writeNarrow(cell: number, value: number): void {
    this.lo[cell] = value & this.mask;
  }

  /** Adds, wrapping at the width; returns the new value. */
  addNarrow(cell: number, delta: number): number {
    const value = ((this.lo[cell] + delta) & this.mask) >>> 0;
    this.lo[cell] = value;
    return value;
  }

  /** Any width. */
  readWide(cell: number): bigint {
    const low = (BigInt(this.hi[cell]) << 32n) | BigInt(this.lo[cell]);
    if (this.cellsPerEntry === 1) return low;
    return (((BigInt(this.hi[cell + 1]) << 32n) | BigInt(this.lo[cell + 1])) << 64n) | low;
  }

  writeWide(cell: number, value: bigint): void {
    if (this.width <= 32) {
      this.lo[cell] = Number(BigInt.asUintN(32, value)) & this.mask;
      return;
    }
    this.lo[cell] = Number(value & 0xffffffffn);
    this.hi[cell] = Number((value >> 32n) & 0xffffffffn);
    if (this.cellsPerEntry === 2) {
      this.lo[cell + 1] = Number((value >> 64n) & 0xffffffffn);
      this.hi[cell + 1] = Number((value >> 96n) & 0xffffffffn);
    }
  }

  addWide(cell: number, delta: bigint): bigint {
    const value = BigInt.asUintN(this.width, this.readWide(cell) + delta);
    this.writeWide(cell, value);
    return value;
  }
}

function pageTableProblem(memory: RegisterMemory, entry: PageTableEntry, cellsPerEntry: number): string | undefined {
  const { stage, offset, amount } = entry;
  if (!Number.isSafeInteger(stage) || stage < 0 || stage >= memory.stages) {
    return `stage ${stage} is not one of the ${memory.stages} stages`;
  }
  if (!Number.isSafeInteger(offset) || offset < 0) return `offset ${offset} is not a cell number`;
  if (!Number.isSafeInteger(amount) || amount < cellsPerEntry || amount % cellsPerEntry !== 0) {
    return `amount ${amount} is not a positive whole number of ${cellsPerEntry}-cell entries`;
  }
  if (offset + amount > memory.cellsPerStage) {
    return `cells ${offset} to ${offset + amount - 1} run past the stage's ${memory.cellsPerStage} cells`;
  }
  return undefined;
}

/**
 * A tenant's registers, by name, as the control plane and the compiled program see them: every access goes through
 * the tenant's page table. Values are BigInts here (any width); the compiled program uses the narrow methods of
 * `slice()` for registers of 32 bits or less.
 */
export class TenantMemoryView {
  private readonly slices = new Map<string, RegisterSlice>();

  constructor(
    memory: RegisterMemory,
    pageTable: PageTable,
    registers: readonly { readonly name: string; readonly width: RegisterWidth }[],
  ) {
    for (const { name, width } of registers) {
      const entry = Object.hasOwn(pageTable, name) ? pageTable[name] : undefined;
      if (entry === undefined) {
        throw new ValidationError(`The page table has no entry for register ${name}; allocate it before installing.`, [
          `${name}: no page table entry`,
        ]);
      }
      this.slices.set(name, new RegisterSlice(memory, name, width, entry));
    }
  }

  slice(register: string): RegisterSlice {
    const slice = this.slices.get(register);
    if (slice === undefined) throw new RangeError(`no register ${register}`);
    return slice;
  }

  read(register: string, index: number | bigint): bigint {
    const slice = this.slice(register);
    return slice.readWide(cellOf(slice, index));
  }

  write(register: string, index: number | bigint, value: bigint): void {
    const slice = this.slice(register);
    slice.writeWide(cellOf(slice, index), BigInt.asUintN(slice.width, value));
  }

  /** Adds `delta`, wrapping at the register's width; returns the new value. */
  add(register: string, index: number | bigint, delta: bigint): bigint {
    const slice = this.slice(register);
    return slice.addWide(cellOf(slice, index), delta);
  }
}

function cellOf(slice: RegisterSlice, index: number | bigint): number {
  return typeof index === 'bigint' ? slice.cellOfBig(index) : slice.cell(index);
}
