import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangesWaitingError, FairTurns } from './fair-turns';

/** Lets every settled promise's continuation run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Changes of named parties ("a1" is party a's first) that each run until the test finishes them, recording the
 * order in which they started.
 */
function changes(turns: FairTurns, names: readonly string[]) {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const results = names.map((name) =>
    turns.run(name.slice(0, 1), async () => {
      started.push(name);
      await new Promise<void>((resolve) => finishers.set(name, resolve));
      return name;
    }),
  );
  /** Finishes the change running now and lets the next one start. */
  const finishRunning = async (): Promise<void> => {
    finishers.get(started[started.length - 1])?.();
    await settle();
  };
  return { started, results, finishRunning };
}

describe('FairTurns', () => {
  it('runs one change at a time, each to its end before the next starts', async () => {
    const { started, results, finishRunning } = changes(new FairTurns(), ['a1', 'b1']);
    await settle();
    assert.deepEqual(started, ['a1']);
    await finishRunning();
    assert.deepEqual(started, ['a1', 'b1']);
    await finishRunning();
    assert.deepEqual(await Promise.all(results), ['a1', 'b1']);
  });

  it("gives the parties turns in rotation: a party's waiting changes do not go before another party's", async () => {
    const turns = new FairTurns();
    const { started, results, finishRunning } = changes(turns, ['a1', 'a2', 'a3', 'b1', 'c1', 'b2']);
    await settle();
    assert.deepEqual(turns.snapshot(), { a: 2, b: 2, c: 1 });
    for (let i = 0; i < 6; i++) await finishRunning();
    // a1 ran first; then b and c each before a's second, and a's third only after b's second.
    assert.deepEqual(started, ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
    await Promise.all(results);
    assert.deepEqual(turns.snapshot(), {});
  });

  it('refuses at once, retriable and naming the party, a change past the waiting cap; others still queue', async () => {
    const turns = new FairTurns(2);
    const { started, results, finishRunning } = changes(turns, ['a1', 'a2', 'a3', 'a4', 'b1']);
    const refused = await results[3].then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof ChangesWaitingError);
    assert.equal(refused.code, 'QUOTA_EXCEEDED');
    assert.equal(refused.retriable, true);
    assert.match(refused.message, /^a already has 2 pipeline changes waiting for their turn/);
    for (let i = 0; i < 4; i++) await finishRunning();
    assert.deepEqual(started, ['a1', 'b1', 'a2', 'a3']);
  });

  it('passes the turn on when a change fails', async () => {
    const turns = new FairTurns();
    const failing = turns.run('a', () => Promise.reject(new Error('refused')));
    const next = turns.run('b', () => Promise.resolve('b ran'));
    await assert.rejects(failing, /refused/);
    assert.equal(await next, 'b ran');
    assert.equal(await turns.run('a', () => Promise.resolve('a again')), 'a again');
  });
});
