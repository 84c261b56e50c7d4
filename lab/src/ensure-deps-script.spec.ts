import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * `npm run lab` and `npm test` both start with scripts/ensure-deps.sh, which "does nothing extra when it is already
 * there" (README): `npm ci` only when node_modules is missing or older than the lockfile, then `tsc -b` (incremental).
 * A copy of the script runs in a temp dir with `node`, `npm` and `npx` replaced by stand-ins that log each command.
 */
describe('scripts/ensure-deps.sh', () => {
  const root = mkdtempSync(join(tmpdir(), 'ensure-deps-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const bin = join(root, 'bin');
  const log = join(root, 'commands.log');
  mkdirSync(join(root, 'scripts'));
  mkdirSync(bin);
  copyFileSync(join(REPO_ROOT, 'scripts', 'ensure-deps.sh'), join(root, 'scripts', 'ensure-deps.sh'));
  const standIns: Record<string, string> = {
    // The version check asks `node -p`; NODE_MAJOR plays an older Node.
    node: [
      'if [ "$1" = "-p" ]; then echo "${NODE_MAJOR:-20}"; exit 0; fi',
      'if [ "$1" = "--version" ]; then echo "v${NODE_MAJOR:-20}.0.0"; exit 0; fi',
    ].join('\n'),
    // npm ci makes node_modules, as the real one does.
    npm: 'if [ "$1" = "ci" ]; then mkdir -p node_modules; fi',
    npx: '',
  };
  for (const [name, body] of Object.entries(standIns)) {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }

  function run(env: Record<string, string> = {}): { status: number | null; output: string; commands: string[] } {
    rmSync(log, { force: true });
    const result = spawnSync('bash', [join(root, 'scripts', 'ensure-deps.sh')], {
      cwd: root,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: root, ...env },
      encoding: 'utf8',
    });
    let commands: string[] = [];
    try {
      commands = readFileSync(log, 'utf8').trim().split('\n');
    } catch {
      // nothing ran
    }
    // The version probes are not what the README's promise is about.
    commands = commands.filter(
      (command) => command !== 'node -p process.versions.node.split(".")[0]' && command !== 'node --version',
    );
    return { status: result.status, output: result.stdout + result.stderr, commands };
  }

  const CI = 'npm ci --no-audit --no-fund --loglevel=error';

  it('installs the npm packages once, then only builds while the lockfile is unchanged', () => {
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3,"v":1}\n');
    const first = run();
    assert.equal(first.status, 0, first.output);
    assert.deepEqual(first.commands, [CI, 'npx tsc -b']);
    for (let i = 0; i < 2; i++) {
      const again = run();
      assert.equal(again.status, 0, again.output);
      assert.deepEqual(again.commands, ['npx tsc -b'], 'nothing extra when the packages are there');
    }
  });

  it('installs again when the lockfile changed, or node_modules is gone', () => {
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3,"v":1}\n');
    run();
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3,"v":2}\n');
    assert.deepEqual(run().commands, [CI, 'npx tsc -b'], 'a changed lockfile');
    assert.deepEqual(run().commands, ['npx tsc -b']);
    rmSync(join(root, 'node_modules'), { recursive: true, force: true });
    assert.deepEqual(run().commands, [CI, 'npx tsc -b'], 'no node_modules');
  });

  it('refuses a Node.js older than 20, saying what it found', () => {
    const result = run({ NODE_MAJOR: '18' });
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /Tenantlab needs Node\.js 20 or newer \(found: v18\.0\.0\)/);
    assert.deepEqual(result.commands, [], 'nothing installed or built');
  });
});
