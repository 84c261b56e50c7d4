import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SupervisedProcess } from './child-process.supervisor';
import { InfraStartError } from './infra.errors';
import { waitUntilReady } from './wait-until-ready';
import { isProcessAlive } from '../lab-state';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'supervisor-spec-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A Node child running `script`; tests use it as a stand-in for an infrastructure process. */
function startNode(name: string, script: string, onLine?: (line: string) => void): Promise<SupervisedProcess> {
  return SupervisedProcess.start({
    component: name,
    command: process.execPath,
    args: ['-e', script],
    logFile: path.join(dir, `${name}.log`),
    ...(onLine ? { onLine } : {}),
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SupervisedProcess', () => {
  it('passes stdout and stderr lines to the callback and the log file', async () => {
    const lines: string[] = [];
    const child = await startNode('echo', 'console.log("out one\\nout two"); console.error("err")', (line) =>
      lines.push(line),
    );
    const status = await child.exited;
    assert.deepEqual(status, { code: 0, signal: null });
    assert.deepEqual([...lines].sort(), ['err', 'out one', 'out two']);
    const log = await readFile(child.logFile, 'utf8');
    assert.deepEqual(log.trimEnd().split('\n').sort(), ['err', 'out one', 'out two']);
  });

  it('stops a process with SIGTERM', async () => {
    const child = await startNode('sleeper', 'setInterval(() => {}, 1000)');
    await child.stop();
    assert.deepEqual(child.exitStatus, { code: null, signal: 'SIGTERM' });
    assert.equal(isProcessAlive(child.pid), false);
  });

  it('kills a process that ignores SIGTERM once the deadline passes', async () => {
    const lines: string[] = [];
    const script =
      'process.on("SIGTERM", () => console.log("ignored")); console.log("armed"); setInterval(() => {}, 1000)';
    const child = await startNode('stubborn', script, (line) => lines.push(line));
    await until(() => lines.includes('armed'), 'the SIGTERM handler');
    await child.stop(300);
    assert.equal(child.exitStatus?.signal, 'SIGKILL');
    assert.ok(lines.includes('ignored'));
    assert.equal(isProcessAlive(child.pid), false);
  });

  it('fails the readiness wait at once when the process exits, quoting its output', async () => {
    const child = await startNode('crasher', 'console.error("bind: address in use"); process.exit(3)');
    const started = Date.now();
    const neverReady = async (): Promise<{ ready: boolean; detail: string }> => ({ ready: false, detail: 'no' });
    await assert.rejects(waitUntilReady(child, 'Crasher', neverReady, 30_000), (error: unknown) => {
      assert.ok(error instanceof InfraStartError);
      assert.match(error.message, /Crasher exited with code 3 before it was ready/);
      assert.match(error.message, /bind: address in use/);
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'should not wait for the deadline');
  });

  it('fails the readiness wait at the deadline with the last probe answer', async () => {
    const child = await startNode('mute', 'setInterval(() => {}, 1000)');
    try {
      const probe = async (): Promise<{ ready: boolean; detail: string }> => ({ ready: false, detail: 'ECONNREFUSED' });
      await assert.rejects(
        waitUntilReady(child, 'Mute', probe, 300),
        /Mute did not become ready within 0.3s \(last check: ECONNREFUSED\)/,
      );
    } finally {
      await child.stop();
    }
  });

  it('rejects when the command does not exist', async () => {
    await assert.rejects(
      SupervisedProcess.start({
        component: 'ghost',
        command: 'no-such-binary-x',
        args: [],
        logFile: path.join(dir, 'ghost.log'),
      }),
      /Could not start ghost \(no-such-binary-x\): spawn no-such-binary-x ENOENT/,
    );
  });
});
