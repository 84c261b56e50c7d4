import { availableParallelism } from 'node:os';

/**
 * How many tenant VMs the lab starts at once. A VM spends about 1.5 s of CPU starting (loading NestJS, the tracing
 * SDK and the app) before it registers; 128 started together on 2 cores all finished loading at about the same time,
 * late, while 128 readiness polls and 128 registrations competed with them for the same cores, and none was ready
 * until nearly all were. A few at a time per core keeps the cores busy (a VM waits on the operator and Redis while it
 * registers) and each VM ready a second or two after it starts.
 */
export function vmStartConcurrency(cores = availableParallelism()): number {
  return Math.max(4, 2 * cores);
}

/**
 * Runs `run` for every item, at most `limit` at a time, each next item starting as soon as one finishes, in the
 * items' order. Resolves once all have succeeded. After the first failure it starts no more items, waits for those
 * already running to settle (so the caller can stop them), and rejects with that first error.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number >= 1, not ${limit}`);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await run(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
