import { PORT_CAPACITY_BYTES, PORT_CAPACITY_FRAMES } from '@tenantlab/shared';

/**
 * Frames and bytes in this VM's tx (issue 11: an entry may hold many frames, so tx's length no longer counts them).
 * The sender is tx's only writer and the switch takes entries oldest first, so when XLEN says `n` entries are left
 * they are the newest `n` written here. Entries written before this sender existed (a restarted VM) count one frame
 * each and no bytes.
 */
export class TxOccupancy {
  private entries: { frames: number; bytes: number }[] = [];
  private head = 0;
  private frames = 0;
  private bytes = 0;
  private unknown = 0;
  /** Whether tx's length has been read since this sender started (or since a write failed). */
  known = false;

  /** Frames and bytes that may still be written. */
  room(): { frames: number; bytes: number } {
    return { frames: PORT_CAPACITY_FRAMES - this.frames - this.unknown, bytes: PORT_CAPACITY_BYTES - this.bytes };
  }

  written(frames: number, bytes: number): void {
    this.entries.push({ frames, bytes });
    this.frames += frames;
    this.bytes += bytes;
  }

  /** tx's length as just read. */
  observe(length: number): void {
    this.known = true;
    while (this.entries.length - this.head > length) {
      const gone = this.entries[this.head++];
      this.frames -= gone.frames;
      this.bytes -= gone.bytes;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.unknown = Math.max(0, length - (this.entries.length - this.head));
  }

  /** After a failed write the entries' fate is unknown: the next length read decides. */
  forget(): void {
    this.known = false;
  }
}
