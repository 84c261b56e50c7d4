import { epochMicros, type StageSnapshot, StageTimings } from '@tenantlab/shared';
import type { FrameTiming } from '../pipeline/switch-pipeline';
import type { PortEntry } from '../ports/port-io';

/**
 * The switch's stages of a frame's time (issue 11), µs. Those marked (sum) follow each other on the frame's way, so
 * with the vNIC's stages (vm.encode before them; rx.wait and vm.read after) they add up to its end-to-end time:
 *   tx.wait (sum)        from its writer's stamp on the tx entry to the switch's read of it, less that read's round
 *                        trip: Redis taking the write, the doorbell, and the switch finishing what it was doing
 *   switch.read (sum)    the round trip of the read that took it
 *   switch.process (sum) from that read's answer to the commit that delivers it being sent: its batch's pipeline work
 *   switch.egress        the commit's round trip (overlaps rx.wait: the VM may read the frame before the reply)
 *   switch.parse, switch.cache, switch.program: one frame in SAMPLE_EVERY, its own time in those pipeline stages
 *                        (parts of switch.process; cache: the flow cache and, on a miss, the forwarding lookup)
 */
export const SWITCH_STAGES = [
  'tx.wait',
  'switch.read',
  'switch.process',
  'switch.egress',
  'switch.parse',
  'switch.cache',
  'switch.program',
] as const;
export type SwitchStage = (typeof SWITCH_STAGES)[number];

/** One frame in this many has its pipeline stages timed (two clock reads per stage would cost more than the stage). */
const SAMPLE_EVERY = 64;

export class SwitchStageTimings {
  private readonly timings = new StageTimings(SWITCH_STAGES);
  private readonly timing: FrameTiming = { parseNs: 0, programNs: 0, decideNs: 0 };
  private countdown = SAMPLE_EVERY;

  /** A round's read: it was sent at `sentAtUs`; each entry it took says when it was written and when it was read. */
  read(sentAtUs: number, entries: readonly PortEntry[]): void {
    let last: PortEntry['entry'] | undefined;
    for (const { entry } of entries) {
      if (entry === last) continue;
      last = entry;
      const roundTrip = entry.readAtUs - sentAtUs;
      if (entry.sentAtUs === undefined) continue;
      const inStore = entry.readAtUs - entry.sentAtUs;
      // The read may have been sent before the write landed: only the part of its round trip after the write counts.
      const read = Math.min(roundTrip, Math.max(0, inStore));
      this.timings.record('switch.read', read, entry.frames);
      this.timings.record('tx.wait', inStore - read, entry.frames);
    }
  }

  /** Where to note the next frame's pipeline timing, when it is one of the sampled ones. */
  sample(): FrameTiming | undefined {
    if (--this.countdown > 0) return undefined;
    this.countdown = SAMPLE_EVERY;
    return this.timing;
  }

  /** The sampled frame's pipeline stages, once `process` filled them in. */
  sampled(timing: FrameTiming): void {
    this.timings.record('switch.parse', timing.parseNs / 1000);
    this.timings.record('switch.program', timing.programNs / 1000);
    this.timings.record('switch.cache', timing.decideNs / 1000);
  }

  /** A batch's frames, read at their entries' `readAtUs`, go out in a commit sent now; returns the commit's stamp. */
  committing(frames: readonly PortEntry[]): number {
    const now = epochMicros();
    // Frames of one entry come together and share its read time: one record per run of them.
    let run = 0;
    for (let i = 0; i < frames.length; i++) {
      run += 1;
      const { entry } = frames[i];
      if (frames[i + 1]?.entry !== entry) {
        this.timings.record('switch.process', now - entry.readAtUs, run);
        run = 0;
      }
    }
    return now;
  }

  /** The commit sent at `sentAtUs` answered, delivering `frames` frames. */
  committed(sentAtUs: number, frames: number): void {
    this.timings.record('switch.egress', epochMicros() - sentAtUs, frames);
  }

  snapshot(): Record<SwitchStage, StageSnapshot> {
    return this.timings.snapshot();
  }
}
