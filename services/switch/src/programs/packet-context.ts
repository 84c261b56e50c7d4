import { FrameView } from '@tenantlab/shared';

/** What a tenant program decided for a frame; `continue` leaves it to the switch's own forwarding. */
export type ProgramVerdict = { readonly kind: 'continue' } | { readonly kind: 'drop' } | ForwardVerdict;

export interface ForwardVerdict {
  readonly kind: 'forward';
  readonly vm: string;
}

export const CONTINUE: ProgramVerdict = Object.freeze({ kind: 'continue' });
export const DROP: ProgramVerdict = Object.freeze({ kind: 'drop' });

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
