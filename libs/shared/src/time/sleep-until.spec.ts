import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleepUntil } from './sleep-until';

describe('sleepUntil', () => {
  it('resolves only once the clock reads the due time, however early a timer fires', async () => {
    for (let i = 0; i < 20; i++) {
      const due = performance.now() + 3 + (i % 7) * 0.3;
      await sleepUntil(due);
      const now = performance.now();
      assert.ok(now >= due, `woke ${due - now} ms before the due time`);
    }
  });

  it('resolves at once for a time already past, and when its signal aborts', async () => {
    const clock = (): number => 100;
    await sleepUntil(50, undefined, clock);
    const abort = new AbortController();
    const sleeping = sleepUntil(performance.now() + 60_000, abort.signal);
    abort.abort();
    const started = performance.now();
    await sleeping;
    assert.ok(performance.now() - started < 1000, 'an aborted sleep ends at once');
  });
});
