import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandFailedError } from './infra.errors';
import { runCommand } from './run-command';

describe('runCommand', () => {
  it('resolves with the output of a command that succeeds', async () => {
    assert.equal(await runCommand('sh', ['-c', 'echo out; echo err >&2'], { purpose: 'echo' }), 'out\nerr\n');
  });

  it('ends the command when its signal aborts, rejecting as killed', async () => {
    const abort = new AbortController();
    const running = runCommand('sleep', ['30'], { purpose: 'wait', signal: abort.signal });
    setImmediate(() => abort.abort());
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof CommandFailedError);
      assert.match(error.message, /Could not wait: `sleep 30` was killed by SIGTERM/);
      return true;
    });
  });
});
