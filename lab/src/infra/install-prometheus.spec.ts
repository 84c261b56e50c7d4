import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installPrometheus } from './install-prometheus';
import { prometheusArgs } from './prometheus.component';

/**
 * A machine without Prometheus, whose apt-get, flock, systemctl and service are stand-ins that log how they were
 * called (one line each) and do what the real ones would: apt-get install puts `prometheus` and `promtool` on PATH.
 */
describe('installPrometheus (README: apt-get under flock /tmp/apt.lock, its packaged service not left running)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prometheus-install-'));
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls.log');
  const saved = { PATH: process.env['PATH'], XDG_CACHE_HOME: process.env['XDG_CACHE_HOME'] };

  function tool(name: string, body: string): void {
    writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`, { mode: 0o755 });
  }

  before(() => {
    writeFileSync(log, '');
    mkdirSync(bin);
    // flock LOCK COMMAND...: runs the command (the lock itself is the real flock's business).
    tool('flock', 'shift\nexec "$@"');
    const fakeBinary = `#!/bin/sh\\nexit 0\\n`;
    tool(
      'apt-get',
      `if [ "$1" = install ]; then for f in prometheus promtool; do printf '${fakeBinary}' > '${bin}'/$f; /bin/chmod 755 '${bin}'/$f; done; fi`,
    );
    tool('systemctl', 'exit 0');
    tool('service', 'exit 0');
    process.env['PATH'] = bin;
    // Its own install lock, not the machine's shared one.
    process.env['XDG_CACHE_HOME'] = path.join(dir, 'cache');
  });

  after(() => {
    process.env['PATH'] = saved.PATH;
    if (saved.XDG_CACHE_HOME === undefined) delete process.env['XDG_CACHE_HOME'];
    else process.env['XDG_CACHE_HOME'] = saved.XDG_CACHE_HOME;
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs the package with apt-get under flock /tmp/apt.lock, then stops and disables its service', async () => {
    const found = await installPrometheus();
    assert.deepEqual(found, { prometheus: path.join(bin, 'prometheus'), promtool: path.join(bin, 'promtool') });
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const stop = existsSync('/run/systemd/system') ? 'systemctl disable --now prometheus' : 'service prometheus stop';
    assert.deepEqual(calls, [
      'flock /tmp/apt.lock apt-get install -y --no-install-recommends prometheus',
      'apt-get install -y --no-install-recommends prometheus',
      stop,
    ]);
  });

  it('installs nothing when prometheus and promtool are already on PATH', async () => {
    writeFileSync(log, '');
    await installPrometheus();
    assert.equal(readFileSync(log, 'utf8'), '');
  });
});

describe('the local Prometheus command line (README: TSDB in the lab dir for two hours, 127.0.0.1 only)', () => {
  it('keeps two hours of TSDB in the given dir and listens on 127.0.0.1 at the port, with its web config', () => {
    const args = prometheusArgs({
      configFile: '/lab/prometheus/prometheus.yml',
      dataDir: '/lab/prometheus/data',
      port: 19090,
      webConfigFile: '/lab/prometheus/web.yml',
    });
    assert.deepEqual(args, [
      '--config.file=/lab/prometheus/prometheus.yml',
      '--storage.tsdb.path=/lab/prometheus/data',
      '--storage.tsdb.retention.time=2h',
      '--web.listen-address=127.0.0.1:19090',
      '--web.config.file=/lab/prometheus/web.yml',
    ]);
  });
});
