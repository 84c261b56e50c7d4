import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * `npm test` (scripts/test.sh) runs, in order: Prettier, ESLint, the infrastructure install, then the unit,
 * integration and e2e tiers, then the containers tier where a Docker engine answers (README, Tests). A copy of the
 * script runs in a temp dir with `node` and `npx` replaced by stand-ins that log each command, so the order, the stop
 * at the first failure and the containers rule are checked without running any of the suites.
 */
describe('npm test (scripts/test.sh)', () => {
  const root = mkdtempSync(join(tmpdir(), 'test-script-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const bin = join(root, 'bin');
  const log = join(root, 'commands.log');
  mkdirSync(join(root, 'scripts'));
  mkdirSync(bin);
  copyFileSync(join(REPO_ROOT, 'scripts', 'test.sh'), join(root, 'scripts', 'test.sh'));
  writeFileSync(join(root, 'scripts', 'ensure-deps.sh'), `echo ensure-deps >> "${log}"\n`);
  writeFileSync(join(root, 'scripts', 'ensure-chromium.sh'), `echo ensure-chromium >> "${log}"\n`);
  // Each stand-in logs its command line; FAIL_ON names one that fails; ENGINE=yes makes the engine check answer.
  const standIn = (name: string): string =>
    [
      '#!/usr/bin/env bash',
      `if [ "$1" = "-e" ]; then echo "${name} engine-check" >> "${log}"; [ "$ENGINE" = yes ]; exit; fi`,
      `echo "${name} $*" >> "${log}"`,
      'if [ -n "$FAIL_ON" ] && [[ "$*" == *"$FAIL_ON"* ]]; then exit 3; fi',
      '',
    ].join('\n');
  for (const name of ['node', 'npx']) {
    writeFileSync(join(bin, name), standIn(name));
    chmodSync(join(bin, name), 0o755);
  }

  function run(env: Record<string, string> = {}): { status: number | null; output: string; commands: string[] } {
    rmSync(log, { force: true });
    const result = spawnSync('bash', [join(root, 'scripts', 'test.sh')], {
      cwd: root,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: root, ...env },
      encoding: 'utf8',
    });
    const commands = readFileSync(log, 'utf8').trim().split('\n');
    return { status: result.status, output: result.stdout + result.stderr, commands };
  }

  const THROUGH_ATTACKS = [
    'ensure-deps',
    'npx prettier --check . --log-level warn',
    'npx eslint . --max-warnings 0',
    'node lab/dist/cli.js install',
    'ensure-chromium',
    'node scripts/run-tests.mjs unit',
    'node scripts/run-tests.mjs integration',
    'node scripts/run-tests.mjs e2e',
    'node scripts/run-tests.mjs attacks',
    'node engine-check',
  ];

  it('runs format, lint, install, unit, integration, e2e and attacks in that order, and skips containers without an engine', () => {
    const result = run();
    assert.equal(result.status, 0, result.output);
    assert.deepEqual(result.commands, THROUGH_ATTACKS);
    assert.match(result.output, /containers: skipped: no Docker engine answers/);
  });

  it('runs the containers tier after the attacks where an engine answers, building the images first', () => {
    const result = run({ ENGINE: 'yes' });
    assert.equal(result.status, 0, result.output);
    assert.deepEqual(result.commands, [
      ...THROUGH_ATTACKS,
      'node lab/dist/cli.js images',
      'node scripts/run-tests.mjs containers',
    ]);
  });

  it('fails in CI when no engine answers', () => {
    const result = run({ CI: 'true' });
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /containers: FAILED: no Docker engine answers in CI/);
  });

  for (const [failing, ranUpTo] of [
    ['prettier', 'npx prettier --check . --log-level warn'],
    ['unit', 'node scripts/run-tests.mjs unit'],
    ['integration', 'node scripts/run-tests.mjs integration'],
  ] as const) {
    it(`stops at the first failure: nothing runs after a failing ${failing} step`, () => {
      const result = run({ FAIL_ON: failing });
      assert.equal(result.status, 3, result.output);
      assert.deepEqual(result.commands, THROUGH_ATTACKS.slice(0, THROUGH_ATTACKS.indexOf(ranUpTo) + 1));
    });
  }
});
