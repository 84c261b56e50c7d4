// Runs one tier of the compiled tests with Node's test runner, one file at a time: integration and e2e tests
// bring up real servers on fixed ports, so files must not overlap.
//   unit:        *.spec.js                 (no servers)
//   integration: *.int.spec.js             (real Redis, Kafka, Jaeger)
//   e2e:         e2e/dist/**/*.e2e.spec.js (the whole lab)
//   attacks:     *.attacks.spec.js         (a hostile tenant against the whole lab)
//   containers:  *.containers.spec.js      (the lab in Docker; scripts/test.sh runs it only where an engine runs)
// The tests run from each package's compiled dist/, so before running it checks that every test source of the tier
// (src/**/*.spec.ts) has compiled output no older than the source; otherwise it fails naming the package, rather
// than silently running fewer tests (or stale ones).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const tier = process.argv[2];
const tiers = {
  unit: (f) =>
    f.endsWith('.spec.js') &&
    !f.endsWith('.int.spec.js') &&
    !f.endsWith('.e2e.spec.js') &&
    !f.endsWith('.attacks.spec.js') &&
    !f.endsWith('.containers.spec.js'),
  integration: (f) => f.endsWith('.int.spec.js'),
  e2e: (f) => f.endsWith('.e2e.spec.js'),
  attacks: (f) => f.endsWith('.attacks.spec.js'),
  containers: (f) => f.endsWith('.containers.spec.js'),
};
if (!tiers[tier]) {
  console.error(`usage: node scripts/run-tests.mjs <${Object.keys(tiers).join('|')}>`);
  process.exit(2);
}

const root = new URL('..', import.meta.url).pathname;
const packages = [
  'libs/shared',
  'services/switch',
  'services/tenant-vm',
  'services/operator',
  'services/allocator',
  'services/telemetry',
  'lab',
  'bench',
  'e2e',
];

function mtimeOf(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function findFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? findFiles(path) : [path];
  });
}

const tierOfSource = (f) => f.endsWith('.spec.ts') && tiers[tier](f.replace(/\.ts$/, '.js'));
const unbuilt = packages.flatMap((pkg) => {
  const sources = findFiles(join(root, pkg, 'src')).filter(tierOfSource);
  if (sources.length === 0) return [];
  // `tsc -b` leaves a .js untouched when its source was touched but not changed (a checkout, a revert) and records
  // that check in the project's tsbuildinfo, so a build counts as current when either is newer than the source.
  const buildInfo = mtimeOf(join(root, pkg, 'tsconfig.tsbuildinfo'));
  const problems = sources.flatMap((source) => {
    const compiled = join(root, pkg, 'dist', relative(join(root, pkg, 'src'), source)).replace(/\.ts$/, '.js');
    const compiledAt = mtimeOf(compiled);
    if (compiledAt === undefined) return [`${relative(root, compiled)} is missing`];
    if (Math.max(compiledAt, buildInfo ?? 0) < mtimeOf(source)) {
      return [`${relative(root, compiled)} is older than ${relative(root, source)}`];
    }
    return [];
  });
  return problems.length === 0 ? [] : [{ pkg, count: sources.length, problems }];
});
if (unbuilt.length > 0) {
  for (const { pkg, count, problems } of unbuilt) {
    console.error(`${pkg}: ${count} ${tier} test source(s) but the build is missing or stale:`);
    for (const problem of problems.slice(0, 5)) console.error(`  ${problem}`);
    if (problems.length > 5) console.error(`  ... and ${problems.length - 5} more`);
  }
  console.error(
    `not running ${tier} tests on a partial build: run \`npx tsc -b\` and fix its errors (\`npx tsc -b --force\` if outputs were deleted)`,
  );
  process.exit(1);
}

const files = packages
  .flatMap((pkg) => findFiles(join(root, pkg, 'dist')))
  .filter(tiers[tier])
  .sort();
if (files.length === 0) {
  console.error(`no ${tier} tests found: run \`npx tsc -b\` first`);
  process.exit(1);
}
console.log(`${tier}: ${files.length} file(s): ${files.map((f) => relative(root, f)).join(', ')}`);
// A test that hangs fails after TEST_TIMEOUT_MS instead of holding the run (and CI) forever; the slowest tests (a
// lab brought up cold, the containers tier) take a few minutes.
const TEST_TIMEOUT_MS = 15 * 60_000;
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
