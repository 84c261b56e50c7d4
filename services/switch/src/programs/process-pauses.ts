import { closeSync, openSync, readSync } from 'node:fs';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/**
 * Time the switch's own thread was stopped while it measured a tenant's program: a garbage-collection pause, the
 * kernel running something else (the thread waiting for a CPU), or the thread blocked (a loaded run saw a frame of a
 * few µs measured 4.8 ms with 3 µs of run-queue wait: the thread slept the rest, most likely on a lock of V8's). A
 * frame's program is timed with the wall clock, so each of these lands on whichever tenant's frame was running; they
 * are the process's, not the tenant's, and must not be billed (a 5 ms pause billed to a tenant with half a millisecond
 * of program time a second starves it for 10 s).
 */
export interface PauseSource {
  /**
   * The main thread's time off its CPU, in ns, on a count of its own (only differences mean anything): waiting for a
   * CPU, blocked (on a lock another of the process's threads holds, a page fault), or the CPU taken from it by
   * interrupts or the machine's hypervisor (steal), which the kernel leaves out of a thread's CPU time too. 0 where
   * the kernel does not say.
   */
  offCpuNs(): number;
  /** Garbage-collection pause time within [startMs, endMs] (performance.now() milliseconds), in ns. */
  gcPauseNs(startMs: number, endMs: number): number;
  /** Calls `then` once the entries of garbage collections that ended before this call can be read. */
  afterGcEntries(then: () => void): void;
}

const ZERO = 0x30;
/** GC pauses remembered: a settlement looks back one event loop turn, so a few dozen are plenty. */
const GC_HISTORY = 64;

/**
 * The pauses of this process: GC from the `gc` performance entries; time off the CPU as the wall clock less the main
 * thread's CPU time, the first field of the kernel's schedstat of the thread (opened once from the main thread so that
 * the descriptor is that thread's).
 */
class ProcessPauses implements PauseSource {
  private readonly gcStarts = new Float64Array(GC_HISTORY);
  private readonly gcEnds = new Float64Array(GC_HISTORY);
  private gcCount = 0;
  private readonly schedstat: number | undefined;
  private readonly buffer = Buffer.alloc(96);

  constructor() {
    this.schedstat = openSchedstat();
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.rememberGc(entry);
    });
    observer.observe({ entryTypes: ['gc'] });
  }

  offCpuNs(): number {
    if (this.schedstat === undefined) return 0;
    // The kernel brings a running thread's CPU time up to date only at a tick or a switch (so the field alone lags by up
    // to a tick, 4 ms here); asking for the process's usage (getrusage) updates the calling thread's first.
    process.cpuUsage();
    const length = readSync(this.schedstat, this.buffer, 0, this.buffer.length, 0);
    const wallNs = performance.now() * 1e6;
    // "<on-cpu ns> <run-queue wait ns> <timeslices>\n": the first number, read in place (a string and a split would
    // double what the read costs).
    let onCpu = 0;
    for (let at = 0; at < length; at++) {
      const digit = this.buffer[at] - ZERO;
      if (digit < 0 || digit > 9) break;
      onCpu = onCpu * 10 + digit;
    }
    return wallNs - onCpu;
  }

  gcPauseNs(startMs: number, endMs: number): number {
    let overlapMs = 0;
    const known = Math.min(this.gcCount, GC_HISTORY);
    for (let i = 0; i < known; i++) {
      const from = Math.max(startMs, this.gcStarts[i]);
      const to = Math.min(endMs, this.gcEnds[i]);
      if (to > from) overlapMs += to - from;
    }
    return overlapMs * 1e6;
  }

  afterGcEntries(then: () => void): void {
    // A GC's entry reaches observers through an immediate that the GC's end queued (node's perf_hooks), so two turns
    // of the event loop's check phase after this call it has been delivered.
    setImmediate(() => setImmediate(then));
  }

  private rememberGc(entry: PerformanceEntry): void {
    const slot = this.gcCount % GC_HISTORY;
    this.gcStarts[slot] = entry.startTime;
    this.gcEnds[slot] = entry.startTime + entry.duration;
    this.gcCount += 1;
  }
}

function openSchedstat(): number | undefined {
  try {
    const fd = openSync('/proc/thread-self/schedstat', 'r');
    try {
      readSync(fd, Buffer.alloc(96), 0, 96, 0);
      return fd;
    } catch {
      closeSync(fd);
      return undefined;
    }
  } catch {
    // Not Linux, or no schedstat in this kernel: time off the CPU is then billed as program time.
    return undefined;
  }
}

let shared: ProcessPauses | undefined;

/** The process's pause source, made on first use (one GC observer and one descriptor per process). */
export function processPauses(): PauseSource {
  shared ??= new ProcessPauses();
  return shared;
}
