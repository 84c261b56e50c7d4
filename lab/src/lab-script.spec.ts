import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * `npm run lab` is scripts/lab.sh: it installs what is missing, then hands over to the lab CLI (which picks Docker or
 * local processes: lab-mode.spec.ts). What it runs (bash for the install step, node for the CLI) is found on PATH, so
 * stand-ins placed first on PATH record it.
 */
describe('npm run lab (scripts/lab.sh)', () => {
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

  it('installs what is missing, then runs `lab up` by default (the CLI picks the mode and says why)', () => {
    assert.deepEqual(run({}), ['bash scripts/ensure-deps.sh', 'node lab/dist/cli.js up']);
  });

  it('passes other commands and their options to the lab CLI', () => {
    assert.deepEqual(run({}, ['status', '--json']), [
      'bash scripts/ensure-deps.sh',
      'node lab/dist/cli.js status --json',
    ]);
    assert.deepEqual(run({}, ['up', '--mode', 'local']), [
      'bash scripts/ensure-deps.sh',
      'node lab/dist/cli.js up --mode local',
    ]);
  });
});
