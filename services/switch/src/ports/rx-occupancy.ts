import { PORT_CAPACITY_BYTES, PORT_CAPACITY_FRAMES } from '@tenantlab/shared';
import { compareStreamIds } from './store-ledger';

/** Frames and bytes of one rx entry the switch wrote. */
interface Written {
  id: string;
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
 * oldest: the entries this writer wrote from rx's oldest id on are still there (at most as many as rx's length), and
 * their frames and bytes are summed here. Entries it does not know of (written before this switch started, its
 * ledger entries, anything else in rx) count one frame each and no bytes: only the frame bound holds for them until
 * they are read.
 */
export class RxOccupancy {
  private readonly byVm = new Map<string, Destination>();

  hasRoom(vm: string, frames: number, bytes: number): boolean {
    const d = this.byVm.get(vm);
    if (!d) return frames <= PORT_CAPACITY_FRAMES && bytes <= PORT_CAPACITY_BYTES;
    return d.frames + d.unknown + frames <= PORT_CAPACITY_FRAMES && d.bytes + bytes <= PORT_CAPACITY_BYTES;
  }

  /** An rx entry carrying these frames was written (its XADD replied). */
  written(vm: string, id: string, carried: readonly { frame: Buffer }[]): void {
    const d = this.destinationOf(vm);
    let bytes = 0;
    for (const { frame } of carried) bytes += frame.length;
    d.entries.push({ id, frames: carried.length, bytes });
    d.frames += carried.length;
    d.bytes += bytes;
  }

  /** rx's length and the id of its oldest entry ('' when empty), as just read (after this batch's writes). */
  observe(vm: string, length: number, oldest: string): void {
    const d = this.destinationOf(vm);
    // Entries older than rx's oldest were read and trimmed by the VM; and no more than `length` can be left.
    while (
      d.head < d.entries.length &&
      (oldest === '' || compareStreamIds(d.entries[d.head].id, oldest) < 0 || d.entries.length - d.head > length)
    ) {
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
