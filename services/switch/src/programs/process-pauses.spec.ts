import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { processPauses } from './process-pauses';

/** The kernel's run-queue wait of the calling thread, in ns, read independently of the module under test. */
const kernelWaitNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);

describe('processPauses', () => {
  it("reads the main thread's run-queue wait from the kernel", () => {
    const pauses = processPauses();
    const before = kernelWaitNs();
    const read = pauses.runQueueWaitNs();
    const after = kernelWaitNs();
    assert.ok(before > 0, 'the kernel says how long this thread waited');
    assert.ok(before <= read && read <= after, `${before} <= ${read} <= ${after}`);
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
