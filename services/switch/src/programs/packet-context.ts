import { FrameView } from '@tenantlab/shared';
import type { ProgramTable } from './program-table';
import type { RegisterSlice } from './register-memory';

/** What a tenant program decided for a frame; `continue` leaves it to the switch's own forwarding. */
export type ProgramVerdict = { readonly kind: 'continue' } | { readonly kind: 'drop' } | ForwardVerdict;

export interface ForwardVerdict {
  readonly kind: 'forward';
  readonly vm: string;
}

export const CONTINUE: ProgramVerdict = Object.freeze({ kind: 'continue' });
export const DROP: ProgramVerdict = Object.freeze({ kind: 'drop' });

/** A value a `report` op publishes: numbers up to 32 bits, BigInts above. */
export type ReportValue = number | bigint;

/** The side effects a program can ask for; the dataplane wires them to packet traces and Kafka. */
export interface ProgramHooks {
  /** `mirror`: copy the frame to the packet trace topic. Called during `run`: copy what you keep. */
  mirror(ctx: PacketContext): void;
  /** `report`: publish `event` with the current values of its fields, by field reference. */
  report(event: string, fields: Readonly<Record<string, ReportValue>>, ctx: PacketContext): void;
}

/**
 * One tenant's side of a program: its register slices (through its page table), counters, table entries and hooks,
 * in the order the program declares them. Compiled program code holds none of this and reads it from the context,
 * so tenants running the same program share one compiled code (Click merging, seed 002) and the JIT sees one set of
 * functions however many tenants run it.
 */
export interface ProgramState {
  readonly slices: readonly RegisterSlice[];
  readonly counters: readonly Float64Array[];
  readonly tables: readonly ProgramTable[];
  readonly hooks: ProgramHooks;
}

const NO_STATE: ProgramState = {
  slices: [],
  counters: [],
  tables: [],
  hooks: { mirror: () => undefined, report: () => undefined },
};

/**
 * One frame as a program sees it: the frame's bytes, the parsed headers (FrameView, kept in step with every write
 * so later reads and the switch's own stages see the new values), the port it came in on, and the per-packet
 * metadata scratch. One context is reused for every frame: `load` it, run programs on it, copy what you keep.
 *
 * Metadata lives in two arrays, 32-bit-or-less values as numbers and wider ones as BigInts, so each array stays
 * monomorphic; the program that runs resets the slots it declares.
 */
export class PacketContext {
  frame: Buffer = Buffer.alloc(0);
  inPort = 0;
  verdict: ProgramVerdict = CONTINUE;
  /** The state of the tenant whose program runs: set by the program before its code runs. */
  state: ProgramState = NO_STATE;
  /** The running flow's FlowHashes (program-compiler.ts), set by the program for each run; none outside the cache. */
  flowHashes: number[] | undefined = undefined;
  readonly metaNarrow: number[] = [];
  readonly metaWide: bigint[] = [];

  constructor(readonly view: FrameView = new FrameView()) {}

  /** Points the context at a frame `view` was parsed from. */
  load(frame: Buffer, inPort = 0): this {
    this.frame = frame;
    this.inPort = inPort;
    this.verdict = CONTINUE;
    return this;
  }

  /** Zeroes the first slots of the metadata scratch: what a program does before it runs. */
  resetMetadata(narrow: number, wide: number): void {
    for (let i = 0; i < narrow; i++) this.metaNarrow[i] = 0;
    for (let i = 0; i < wide; i++) this.metaWide[i] = 0n;
  }
}
