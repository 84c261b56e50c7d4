import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { processPauses } from './process-pauses';

/** The kernel's run-queue wait of the calling thread, in ns, read independently of the module under test. */
const kernelWaitNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);

describe('processPauses', () => {
  it("counts the main thread's time blocked as off the CPU", () => {
    const pauses = processPauses();
    const before = pauses.offCpuNs();
    // The thread sleeps 30 ms on a futex: neither running nor waiting for a CPU (what a lock of V8's does to a frame).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
    const off = pauses.offCpuNs() - before;
    assert.ok(off >= 29e6, `${off / 1e6} ms off the CPU in a 30 ms sleep`);
  });

  it('counts nothing but the wait for a CPU while the thread runs, read up to date (the kernel lags a tick)', () => {
    const pauses = processPauses();
    for (let round = 0; round < 5; round++) {
      const waitBefore = kernelWaitNs();
      const before = pauses.offCpuNs();
      const until = performance.now() + 20;
      while (performance.now() < until);
      const off = pauses.offCpuNs() - before;
      const waited = kernelWaitNs() - waitBefore;
      // Read without bringing the thread's CPU time up to date, the count would lag by up to a tick (4 ms here).
      assert.ok(off <= waited + 500_000, `round ${round}: ${off / 1e6} ms off the CPU, ${waited / 1e6} ms waiting`);
    }
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
