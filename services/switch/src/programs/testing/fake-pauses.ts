import type { PauseSource } from '../process-pauses';

/** Pauses a test sets: time off the CPU it moves, GC pauses it lists, and their delivery when the test says. */
export class FakePauses implements PauseSource {
  offCpu = 0;
  /** How often the time off the CPU was read (each a kernel call in the real process). */
  offCpuReads = 0;
  readonly gcs: { startMs: number; endMs: number }[] = [];
  private readonly waiting: (() => void)[] = [];

  offCpuNs(): number {
    this.offCpuReads += 1;
    return this.offCpu;
  }

  gcPauseNs(startMs: number, endMs: number): number {
    let ms = 0;
    for (const gc of this.gcs) ms += Math.max(0, Math.min(endMs, gc.endMs) - Math.max(startMs, gc.startMs));
    return ms * 1e6;
  }

  afterGcEntries(then: () => void): void {
    this.waiting.push(then);
  }

  deliverGcEntries(): void {
    for (const then of this.waiting.splice(0)) then();
  }
}
