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

/**
 * `status --json` for scripts: stdout holds the JSON and nothing else, through npm with `-s` (without it npm prints
 * its own banner on stdout first, which no script can stop) and through the CLI directly. scripts/ensure-deps.sh is
 * replaced by a stand-in that prints build progress, as the real one does (`==> Building the workspace`); the rest is
 * real: npm, scripts/lab.sh and the lab CLI, asked about a profile with no lab.
 */
describe('lab status --json prints only JSON on stdout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-status-json-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const bash = join(dir, 'bash');
  writeFileSync(
    bash,
    [
      '#!/bin/sh',
      'if [ "$1" = "scripts/ensure-deps.sh" ]; then echo "==> Building the workspace (tsc -b)"; exit 0; fi',
      'exec /bin/bash "$@"',
      '',
    ].join('\n'),
  );
  chmodSync(bash, 0o755);
  const profile = `no-lab-${process.pid}`;

  const forms: [string, string, string[]][] = [
    ['npm run -s lab -- status --json', 'npm', ['run', '-s', 'lab', '--', 'status', '--json', '--profile', profile]],
    [
      'node lab/dist/cli.js status --json',
      process.execPath,
      ['lab/dist/cli.js', 'status', '--json', '--profile', profile],
    ],
  ];
  for (const [form, command, args] of forms) {
    it(form, () => {
      const result = spawnSync(command, args, {
        cwd: REPO_ROOT,
        env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` },
        encoding: 'utf8',
      });
      assert.deepEqual(JSON.parse(result.stdout), { profile, running: false, components: [] }, result.stderr);
      assert.equal(result.status, 3, 'status exits 3 when no lab runs');
      if (command === 'npm') assert.match(result.stderr, /==> Building the workspace/, 'build progress on stderr');
    });
  }
});
