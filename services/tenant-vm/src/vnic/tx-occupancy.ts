import { StreamOccupancy } from '@tenantlab/shared';

/**
 * Frames and bytes in this VM's tx (see StreamOccupancy). The sender is tx's only writer and the switch takes entries
 * oldest first, so when XLEN says `n` entries are left they are the newest `n` written here. Entries written before
 * this sender existed (a restarted VM) count one frame each and no bytes.
 */
export class TxOccupancy extends StreamOccupancy {
  /** Whether tx's length has been read since this sender started (or since a write failed). */
  known = false;

  /** tx's length as just read. */
  override observe(length: number): void {
    this.known = true;
    super.observe(length);
  }

  /** After a failed write the entries' fate is unknown: the next length read decides. */
  forget(): void {
    this.known = false;
  }
}
