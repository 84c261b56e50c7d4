import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * `node scripts/run-tests.mjs <tier>` runs one tier of the compiled tests and refuses a missing or stale build, naming
 * the package. The script finds the workspace from its own location, so a copy of it in a temp dir runs over a tiny
 * workspace laid out there: one package (services/switch) with one unit test and one integration test.
 */
describe('node scripts/run-tests.mjs <tier>', () => {
  const root = mkdtempSync(join(tmpdir(), 'run-tests-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const pkg = join(root, 'services', 'switch');
  const unitJs = join(pkg, 'dist', 'x.spec.js');
  function write(path: string, text: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(REPO_ROOT, 'scripts', 'run-tests.mjs'), join(root, 'scripts', 'run-tests.mjs'));

  function layOut(): void {
    write(join(pkg, 'src', 'x.spec.ts'), '// the source of dist/x.spec.js\n');
    write(join(pkg, 'src', 'y.int.spec.ts'), '// the source of dist/y.int.spec.js\n');
    write(unitJs, "require('node:test').it('unit passes', () => {});\n");
    write(
      join(pkg, 'dist', 'y.int.spec.js'),
      "require('node:test').it('integration fails', () => { throw new Error('int ran'); });\n",
    );
  }

  function run(tier: string): { status: number | null; output: string } {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // run as a top-level test run, not as a child of this one
    const result = spawnSync(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), tier], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    return { status: result.status, output: result.stdout + result.stderr };
  }

  it('runs only the tier asked for', () => {
    layOut();
    const unit = run('unit');
    assert.equal(unit.status, 0, unit.output);
    assert.match(unit.output, /unit passes/);
    assert.doesNotMatch(unit.output, /integration fails/);

    const integration = run('integration');
    assert.equal(integration.status, 1, integration.output);
    assert.match(integration.output, /int ran/);
  });

  it('refuses a missing build, naming the package and the file', () => {
    layOut();
    rmSync(unitJs);
    const result = run('unit');
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /services\/switch: 1 unit test source\(s\) but the build is missing or stale/);
    assert.match(result.output, /services\/switch\/dist\/x\.spec\.js is missing/);
    assert.doesNotMatch(result.output, /unit passes/);
  });

  it('refuses a stale build, naming the package and the file', () => {
    layOut();
    const old = new Date(Date.now() - 60_000);
    utimesSync(unitJs, old, old);
    const result = run('unit');
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /services\/switch: 1 unit test source\(s\) but the build is missing or stale/);
    assert.match(result.output, /services\/switch\/dist\/x\.spec\.js is older than services\/switch\/src\/x\.spec\.ts/);
    assert.doesNotMatch(result.output, /unit passes/);
  });

  it('refuses an unknown tier with its usage', () => {
    const result = run('everything');
    assert.equal(result.status, 2, result.output);
    assert.match(result.output, /usage: node scripts\/run-tests\.mjs <unit\|integration\|e2e\|attacks\|containers>/);
  });
});
