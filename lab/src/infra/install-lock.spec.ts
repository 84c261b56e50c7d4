import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { withInstallLock } from './install-lock';

describe('withInstallLock', () => {
  let cache: string;
  const previous = process.env['XDG_CACHE_HOME'];

  before(async () => {
    cache = await mkdtemp(path.join(os.tmpdir(), 'install-lock-spec-'));
    process.env['XDG_CACHE_HOME'] = cache;
  });

  after(async () => {
    if (previous === undefined) delete process.env['XDG_CACHE_HOME'];
    else process.env['XDG_CACHE_HOME'] = previous;
    await rm(cache, { recursive: true, force: true });
  });

  it('runs installs of the same component one at a time', async () => {
    const events: string[] = [];
    const install = (name: string) => async (): Promise<void> => {
      events.push(`${name} start`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`${name} end`);
    };
    await Promise.all([withInstallLock('thing', install('a')), withInstallLock('thing', install('b'))]);
    // Either may win the lock (it is not a queue); what matters is that the second starts only after the first ended.
    const first = events[0]?.split(' ')[0] === 'a' ? 'a' : 'b';
    const second = first === 'a' ? 'b' : 'a';
    assert.deepEqual(events, [`${first} start`, `${first} end`, `${second} start`, `${second} end`]);
  });

  it('takes over a lock whose owner is gone, and releases it after a failure', async () => {
    const lock = path.join(cache, 'tenantlab', 'stale.lock');
    await mkdir(lock, { recursive: true });
    // Pids are below 2^22 on Linux, so this one cannot be running.
    await writeFile(path.join(lock, 'pid'), '99999999');
    await assert.rejects(
      withInstallLock('stale', async () => Promise.reject(new Error('download failed'))),
      /download failed/,
    );
    assert.equal(await withInstallLock('stale', async () => 'second try'), 'second try');
  });
});
