import { PORT_CAPACITY_BYTES, PORT_CAPACITY_FRAMES } from '@tenantlab/shared';

/** Frames and bytes of one rx entry the switch wrote. */
interface Written {
  frames: number;
  bytes: number;
}

/** Per destination VM: its rx entries as far as this writer knows, oldest first, and their sums. */
interface Destination {
  entries: Written[];
  /** Index of the oldest entry still in rx (entries before it were read and trimmed). */
  head: number;
  frames: number;
  bytes: number;
  /** Entries in rx this writer did not write, at the last length read: a frame each. */
  unknown: number;
}

/**
 * How many frames and bytes wait in each destination's rx (issue 11: an rx entry may carry many frames, so its
 * length no longer counts frames). The switch is rx's only writer of frames and its VM reads and trims it from the
 * oldest, so when XLEN says `n` entries are left they are the newest `n` this writer wrote: their frames and bytes
 * are summed here. Entries it does not know of (written before this switch started, or its ledger entries) count one
 * frame each and no bytes: only the frame bound holds for them until they are read.
 */
export class RxOccupancy {
  private readonly byVm = new Map<string, Destination>();

  hasRoom(vm: string, frames: number, bytes: number): boolean {
    const d = this.byVm.get(vm);
    if (!d) return frames <= PORT_CAPACITY_FRAMES && bytes <= PORT_CAPACITY_BYTES;
    return d.frames + d.unknown + frames <= PORT_CAPACITY_FRAMES && d.bytes + bytes <= PORT_CAPACITY_BYTES;
  }

  /** An rx entry carrying these frames was written (its XADD replied). */
  written(vm: string, carried: readonly { frame: Buffer }[]): void {
    const d = this.destinationOf(vm);
    let bytes = 0;
    for (const { frame } of carried) bytes += frame.length;
    d.entries.push({ frames: carried.length, bytes });
    d.frames += carried.length;
    d.bytes += bytes;
  }

  /** rx's length as just read (after this batch's writes). */
  observe(vm: string, length: number): void {
    const d = this.destinationOf(vm);
    // Entries read and trimmed by the VM are the oldest: drop them from the front until `length` are left.
    while (d.entries.length - d.head > length) {
      const gone = d.entries[d.head++];
      d.frames -= gone.frames;
      d.bytes -= gone.bytes;
    }
    if (d.head > 1024 && d.head * 2 > d.entries.length) {
      d.entries = d.entries.slice(d.head);
      d.head = 0;
    }
    d.unknown = Math.max(0, length - (d.entries.length - d.head));
  }

  forget(vm: string): void {
    this.byVm.delete(vm);
  }

  private destinationOf(vm: string): Destination {
    let d = this.byVm.get(vm);
    if (!d) this.byVm.set(vm, (d = { entries: [], head: 0, frames: 0, bytes: 0, unknown: 0 }));
    return d;
  }
}
