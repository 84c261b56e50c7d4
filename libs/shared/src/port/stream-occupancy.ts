import { PORT_CAPACITY_BYTES, PORT_CAPACITY_FRAMES } from './port-keys';

/** What a port stream may hold: frames, and bytes of frames. */
export interface StreamCapacity {
  frames: number;
  bytes: number;
}

/** A port stream's capacity unless its writer is given a smaller one (the switch's rx, by its tenant's share). */
export const PORT_CAPACITY: Readonly<StreamCapacity> = Object.freeze({
  frames: PORT_CAPACITY_FRAMES,
  bytes: PORT_CAPACITY_BYTES,
});

/** One entry a stream's writer wrote: its id when the writer knows it, and the frames and bytes it carries. */
interface WrittenEntry {
  id?: string;
  frames: number;
  bytes: number;
}

/**
 * Frames and bytes waiting in one port stream, as its writer knows them (issue 11: an entry may carry many frames,
 * so a stream's length no longer counts frames). The writer remembers what it wrote, oldest first; its reader takes
 * entries from the oldest, so when the stream's length is read, no more than that many of the newest entries it wrote
 * can be left (and none older than the stream's oldest id, when that is known). Entries in the stream it did not
 * write (written before it started, or by anyone else) count one frame each and no bytes: only the frame bound holds
 * for them until they are read. The vNIC's tx and the switch's rx per destination each keep one.
 */
export class StreamOccupancy {
  private entries: WrittenEntry[] = [];
  private head = 0;
  private frames = 0;
  private bytes = 0;
  private unknown = 0;

  /** Frames and bytes that may still be written within `capacity` (PORT_CAPACITY_FRAMES and PORT_CAPACITY_BYTES). */
  room(capacity: Readonly<StreamCapacity> = PORT_CAPACITY): StreamCapacity {
    return { frames: capacity.frames - this.frames - this.unknown, bytes: capacity.bytes - this.bytes };
  }

  hasRoom(frames: number, bytes: number, capacity: Readonly<StreamCapacity> = PORT_CAPACITY): boolean {
    const room = this.room(capacity);
    return frames <= room.frames && bytes <= room.bytes;
  }

  /** An entry carrying `frames` frames of `bytes` bytes was written (its XADD replied, with `id`). */
  written(frames: number, bytes: number, id?: string): void {
    this.entries.push(id === undefined ? { frames, bytes } : { id, frames, bytes });
    this.frames += frames;
    this.bytes += bytes;
  }

  /**
   * The stream's length as just read (after this writer's writes), and optionally whether an entry id is older than
   * the stream's oldest entry (so it was read and trimmed).
   */
  observe(length: number, gone: (id: string) => boolean = () => false): void {
    while (this.head < this.entries.length) {
      const oldest = this.entries[this.head];
      if (this.entries.length - this.head <= length && (oldest.id === undefined || !gone(oldest.id))) break;
      this.head += 1;
      this.frames -= oldest.frames;
      this.bytes -= oldest.bytes;
    }
    // Compact now and then: a busy port writes millions of entries, and their slots must not be kept.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.unknown = Math.max(0, length - (this.entries.length - this.head));
  }
}
