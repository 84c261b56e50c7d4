import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SupervisedProcess } from './child-process.supervisor';
import { RestartBackoff } from './restart-backoff';
import { RestartingProcess } from './restarting-process';

const quick = { initialDelayMs: 20, maxDelayMs: 50, stableAfterMs: 60_000, maxQuickCrashes: 3 };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('RestartingProcess', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'restarting-process-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (script: string, appendLog = false, onLine?: (line: string) => void): Promise<SupervisedProcess> =>
    SupervisedProcess.start({
      component: 'worker',
      command: process.execPath,
      args: ['-e', script],
      logFile: path.join(dir, 'worker.log'),
      appendLog,
      onLine,
    });

  it('starts a crashed process again, keeps the crashed run in the log, and stops the new one on stop', async () => {
    const crashes: string[] = [];
    let restarted!: (pid: number) => void;
    const restartedPid = new Promise<number>((resolve) => (restarted = resolve));
    let printed!: () => void;
    const secondRunPrinted = new Promise<void>((resolve) => (printed = resolve));
    const first = await run('console.log("first run"); process.exit(3)');
    const component = new RestartingProcess(
      'worker',
      first,
      () => run('console.log("second run"); setInterval(() => undefined, 1000)', true, () => printed()),
      { onCrash: (_name, exit) => crashes.push(exit), onRestarted: (_name, pid) => restarted(pid) },
      new RestartBackoff(quick),
    );
    const pid = await restartedPid;
    assert.deepEqual(crashes, ['exited with code 3']);
    assert.equal(component.restarts, 1);
    assert.equal(component.pid, pid);
    assert.notEqual(pid, first.pid);
    assert.ok(isAlive(pid));
    await secondRunPrinted;
    await component.stop(2_000);
    assert.equal(isAlive(pid), false, 'stop ends the restarted process');
    const log = await readFile(path.join(dir, 'worker.log'), 'utf8');
    assert.match(log, /first run\nsecond run/);
  });

  it('gives up after crashing too often in a row, saying why, and does not start it again', async () => {
    let starts = 0;
    let gaveUp!: (reason: string) => void;
    const reason = new Promise<string>((resolve) => (gaveUp = resolve));
    const component = new RestartingProcess(
      'worker',
      await run('process.exit(1)'),
      () => {
        starts++;
        return run('process.exit(1)');
      },
      { onGaveUp: (_name, why) => gaveUp(why) },
      new RestartBackoff(quick),
    );
    assert.match(await reason, /exited with code 1; it crashed too often in a row, so it stays down/);
    assert.equal(starts, quick.maxQuickCrashes);
    await component.stop();
  });

  it('counts a start that fails as a crash and tries again', async () => {
    const exits: string[] = [];
    let restarted!: () => void;
    const done = new Promise<void>((resolve) => (restarted = resolve));
    let attempts = 0;
    const component = new RestartingProcess(
      'worker',
      await run('process.exit(2)'),
      () => {
        attempts++;
        if (attempts === 1) return Promise.reject(new Error('port 6379 is taken\nmore detail'));
        return run('setInterval(() => undefined, 1000)');
      },
      { onCrash: (_name, exit) => exits.push(exit), onRestarted: () => restarted() },
      new RestartBackoff(quick),
    );
    await done;
    assert.deepEqual(exits, ['exited with code 2', 'failed to start again: port 6379 is taken']);
    await component.stop(2_000);
  });
});
