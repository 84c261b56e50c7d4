import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachBounded, vmStartConcurrency } from './bounded-start';

/** A task per item that stays running until the test releases it; records what ran, and how many at once. */
function gatedTasks() {
  const started: number[] = [];
  const release = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let running = 0;
  let mostAtOnce = 0;
  const run = (item: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      started.push(item);
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      const done = (): void => void (running -= 1);
      release.set(item, {
        resolve: () => (done(), resolve()),
        reject: (error) => (done(), reject(error)),
      });
    });
  return { started, release, run, mostAtOnce: () => mostAtOnce };
}

/** Lets pending promise callbacks run (the pool starts the next item from a task's settlement). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('forEachBounded (how the lab starts tenant VMs)', () => {
  it('runs at most `limit` at a time, starting the next in order as soon as one finishes', async () => {
    const tasks = gatedTasks();
    const all = forEachBounded([0, 1, 2, 3, 4, 5, 6], 3, tasks.run);
    await settle();
    assert.deepEqual(tasks.started, [0, 1, 2], 'three started, the rest wait');
    tasks.release.get(1)?.resolve();
    await settle();
    assert.deepEqual(tasks.started, [0, 1, 2, 3], 'one finished, one more started');
    for (let item = 0; item < 7; item += 1) {
      tasks.release.get(item)?.resolve();
      await settle();
    }
    await all;
    assert.deepEqual(tasks.started, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(tasks.mostAtOnce(), 3);
  });

  it('starts nothing more after a failure, waits for those running, and rejects with the first error', async () => {
    const tasks = gatedTasks();
    const all = forEachBounded([0, 1, 2, 3, 4], 2, tasks.run);
    let outcome: string | undefined;
    all.then(
      () => (outcome = 'resolved'),
      (error: Error) => (outcome = error.message),
    );
    await settle();
    tasks.release.get(0)?.reject(new Error('vm-0 exited'));
    await settle();
    assert.deepEqual(tasks.started, [0, 1], 'no item started after the failure');
    assert.equal(outcome, undefined, 'still waiting for the one running');
    tasks.release.get(1)?.reject(new Error('vm-1 exited too'));
    await settle();
    assert.equal(outcome, 'vm-0 exited');
  });

  it('refuses a limit below 1', async () => {
    await assert.rejects(
      forEachBounded([1], 0, async () => undefined),
      /limit must be a whole number >= 1, not 0/,
    );
  });

  it('starts 4 VMs at once on this 2-core machine, 2 per core on bigger ones', () => {
    assert.equal(vmStartConcurrency(1), 4);
    assert.equal(vmStartConcurrency(2), 4);
    assert.equal(vmStartConcurrency(8), 16);
  });
});
