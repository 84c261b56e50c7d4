import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once `clock()` reads `dueMs` or later, or once `signal` aborts (never rejects). A single timer is not
 * enough for pacing: Node counts a timer's delay from the event loop's cached time, in whole ms, so it may fire a ms
 * or two before `performance.now()` reaches the time asked for (a replayed frame due at 50 ms went out at 48.8 ms).
 */
export async function sleepUntil(
  dueMs: number,
  signal?: AbortSignal,
  clock: () => number = () => performance.now(),
): Promise<void> {
  for (let wait = dueMs - clock(); wait > 0 && signal?.aborted !== true; wait = dueMs - clock()) {
    await sleep(wait, undefined, { signal }).catch(() => undefined);
  }
}
