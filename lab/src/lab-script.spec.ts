import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * `npm run lab` is scripts/lab.sh. It picks Docker or local processes; what it then runs (docker, bash for the
 * install step, node for the lab CLI) is found on PATH, so stand-ins placed first on PATH record what it chose.
 */
describe('npm run lab (scripts/lab.sh): Docker or local processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-script-'));
  const log = join(dir, 'calls.log');
  after(() => rmSync(dir, { recursive: true, force: true }));

  function standIn(name: string, exitCode: number | string): void {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "${log}"\nexit ${exitCode}\n`);
    chmodSync(file, 0o755);
  }

  function run(env: Record<string, string>, args: string[] = []): string[] {
    writeFileSync(log, '');
    const result = spawnSync('/bin/bash', [join(REPO_ROOT, 'scripts', 'lab.sh'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: `${dir}:/usr/bin:/bin`, ...env },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    return readFileSync(log, 'utf8').trim().split('\n');
  }

  standIn('bash', 0);
  standIn('node', 0);

  it('runs `docker compose up --build` when a Docker engine answers', () => {
    standIn('docker', 0);
    assert.deepEqual(run({}), ['docker info', 'docker compose up --build']);
  });

  it('runs the local lab when TENANTLAB_MODE=local, even with a Docker engine', () => {
    standIn('docker', 0);
    assert.deepEqual(run({ TENANTLAB_MODE: 'local' }), ['bash scripts/ensure-deps.sh', 'node lab/dist/cli.js up']);
  });

  it('runs the local lab when no Docker engine answers, and passes other commands to the lab CLI', () => {
    standIn('docker', 1);
    assert.deepEqual(run({}), ['docker info', 'bash scripts/ensure-deps.sh', 'node lab/dist/cli.js up']);
    standIn('docker', 0);
    assert.deepEqual(run({}, ['status', '--json']), [
      'bash scripts/ensure-deps.sh',
      'node lab/dist/cli.js status --json',
    ]);
  });
});
