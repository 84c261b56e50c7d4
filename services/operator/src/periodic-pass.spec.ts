import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { JsonLogger } from '@tenantlab/shared';
import { PeriodicPass } from './periodic-pass';

function recordingLogger(): { logger: JsonLogger; lines: Array<{ level: string; msg: string; context: string }> } {
  const lines: Array<{ level: string; msg: string; context: string }> = [];
  const logger = new JsonLogger('operator-test', 'debug', (line) => {
    lines.push(JSON.parse(line) as { level: string; msg: string; context: string });
  });
  return { logger, lines };
}

/** Resolves once `condition` holds, checking on every turn of the event loop; fails after `deadlineMs`. */
async function until(condition: () => boolean, deadlineMs = 2000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > deadlineMs) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('PeriodicPass', () => {
  it('never runs two passes at once, and stop() waits for the running one', async () => {
    let running = 0;
    let overlapped = false;
    let passes = 0;
    let release: (() => void) | undefined;
    const { logger } = recordingLogger();
    const periodic = new PeriodicPass(
      'test',
      1,
      async () => {
        running++;
        overlapped ||= running > 1;
        passes++;
        await new Promise<void>((resolve) => (release = resolve));
        running--;
      },
      logger,
      { context: 'test' },
    );
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      periodic.start();
      mock.timers.tick(1);
      await until(() => release !== undefined);
      // The first pass hangs: a scheduler that did not wait for it would have started a hundred more by now.
      mock.timers.tick(100);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      mock.timers.reset();
    }
    assert.equal(passes, 1);
    let stopped = false;
    const stopping = periodic.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, 'stop() returned while a pass was still running');
    release?.();
    await stopping;
    assert.equal(running, 0);
    assert.equal(overlapped, false);
  });

  it('logs a failing pass once per 10 s of its clock, with the context and the reason', async () => {
    const clock = { now: 1_000_000 };
    let passes = 0;
    const { logger, lines } = recordingLogger();
    const periodic = new PeriodicPass(
      'circuit reaper',
      1,
      () => {
        passes++;
        return Promise.reject(new Error('Redis away'));
      },
      logger,
      { context: 'circuits', now: () => clock.now },
    );
    periodic.start();
    await until(() => passes >= 3);
    assert.equal(lines.length, 1, 'three failures within 10 s log once');
    assert.equal(lines[0]?.level, 'warn');
    assert.equal(lines[0]?.context, 'circuits');
    assert.match(lines[0]?.msg ?? '', /circuit reaper pass failed: Redis away/);
    clock.now += 10_000;
    const seen = passes;
    await until(() => passes >= seen + 2);
    await periodic.stop();
    assert.equal(lines.length, 2, 'the next failure after 10 s is logged again');
  });
});
