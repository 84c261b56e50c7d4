import { StreamOccupancy, type StreamCapacity } from '@tenantlab/shared';
import { compareStreamIds } from './store-ledger';

/**
 * How many frames and bytes wait in each destination's rx (see StreamOccupancy). The switch is rx's only writer of
 * frames and its VM reads and trims it from the oldest: the entries this writer wrote from rx's oldest id on are
 * still there (at most as many as rx's length). Entries it does not know of (written before this switch started, its
 * ledger entries, anything else in rx) count one frame each and no bytes.
 */
export class RxOccupancy {
  private readonly byVm = new Map<string, StreamOccupancy>();

  hasRoom(vm: string, frames: number, bytes: number, capacity?: Readonly<StreamCapacity>): boolean {
    return (this.byVm.get(vm) ?? EMPTY).hasRoom(frames, bytes, capacity);
  }

  /** An rx entry carrying these frames was written (its XADD replied). */
  written(vm: string, id: string, carried: readonly { frame: Buffer }[]): void {
    let bytes = 0;
    for (const { frame } of carried) bytes += frame.length;
    this.destinationOf(vm).written(carried.length, bytes, id);
  }

  /** rx's length and the id of its oldest entry ('' when empty), as just read (after this batch's writes). */
  observe(vm: string, length: number, oldest: string): void {
    // Entries older than rx's oldest were read and trimmed by the VM.
    this.destinationOf(vm).observe(length, (id) => oldest === '' || compareStreamIds(id, oldest) < 0);
  }

  forget(vm: string): void {
    this.byVm.delete(vm);
  }

  private destinationOf(vm: string): StreamOccupancy {
    let d = this.byVm.get(vm);
    if (!d) this.byVm.set(vm, (d = new StreamOccupancy()));
    return d;
  }
}

/** A destination the switch has not written to yet: all its room is free. */
const EMPTY = new StreamOccupancy();
