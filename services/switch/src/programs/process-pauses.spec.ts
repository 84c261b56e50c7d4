import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { processPauses } from './process-pauses';

describe('processPauses', () => {
  it("counts the main thread's time blocked as off the CPU", () => {
    const pauses = processPauses();
    const before = pauses.offCpuNs();
    // The thread sleeps 30 ms on a futex: neither running nor waiting for a CPU (what a lock of V8's does to a frame).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
    const off = pauses.offCpuNs() - before;
    assert.ok(off >= 29e6, `${off / 1e6} ms off the CPU in a 30 ms sleep`);
  });

  it("counts the main thread's CPU time up to date, all of it while it runs (the kernel's own count lags a tick)", () => {
    const pauses = processPauses();
    const spin = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    // The first spins share the process with V8's compiler threads, optimising the loop: 2-8 ms more process time.
    for (let warmUp = 0; warmUp < 3; warmUp++) spin(20);
    const othersNs: number[] = [];
    for (let round = 0; round < 10; round++) {
      const processBefore = process.cpuUsage();
      const offBefore = pauses.offCpuNs();
      const wallBefore = performance.now();
      spin(20);
      const offAfter = pauses.offCpuNs();
      const wallAfter = performance.now();
      const processUs = process.cpuUsage(processBefore);
      // The thread's CPU time over the spin, from what it was off the CPU: never more than the whole process's (over a
      // slightly longer interval). Compared with the process's and not with the run-queue wait, since both leave out
      // what the machine's hypervisor took (steal) and interrupts, which the wall clock does not; read without bringing
      // the thread's count up to date, it would lag by up to a tick (4 ms here) at either end, so over ten rounds some
      // would come out more than the process's.
      const threadNs = (wallAfter - wallBefore) * 1e6 - (offAfter - offBefore);
      const processNs = (processUs.user + processUs.system) * 1000;
      assert.ok(
        threadNs <= processNs + 100_000,
        `round ${round}: thread ${threadNs / 1e6} ms, process ${processNs / 1e6} ms`,
      );
      othersNs.push(processNs - threadNs);
    }
    // And all of the process's time but what its other threads used: those (V8's compiler and collector, libuv's
    // pool) may take a few ms in a round on a loaded machine, but not in every one of ten.
    const quietestNs = Math.min(...othersNs);
    assert.ok(
      quietestNs <= 1_000_000,
      `the process used ${othersNs.map((ns) => (ns / 1e6).toFixed(2)).join(', ')} ms more than the thread`,
    );
  });

  it('knows a garbage collection within an interval once its entry is delivered, and none outside it', async () => {
    const pauses = processPauses();
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const startMs = performance.now();
    collect();
    const endMs = performance.now();
    await new Promise<void>((resolve) => pauses.afterGcEntries(resolve));
    const within = pauses.gcPauseNs(startMs, endMs);
    assert.ok(within > 0 && within <= (endMs - startMs) * 1e6, `${within} ns of GC in ${(endMs - startMs) * 1e6} ns`);
    // Just before the collection this test's code was running, so no pause of the process can have been there.
    assert.equal(pauses.gcPauseNs(startMs - 0.05, startMs), 0, 'nothing before the collection began');
  });
});
