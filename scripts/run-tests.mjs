// Runs one tier of the compiled tests with Node's test runner, one file at a time: integration and e2e tests
// bring up real servers on fixed ports, so files must not overlap.
//   unit:        *.spec.js                 (no servers)
//   integration: *.int.spec.js             (real Redis, Kafka, Jaeger)
//   e2e:         e2e/dist/**/*.e2e.spec.js (the whole lab)
//   containers:  *.containers.spec.js      (the lab in Docker; scripts/test.sh runs it only where an engine runs)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const tier = process.argv[2];
const tiers = {
  unit: (f) =>
    f.endsWith('.spec.js') &&
    !f.endsWith('.int.spec.js') &&
    !f.endsWith('.e2e.spec.js') &&
    !f.endsWith('.containers.spec.js'),
  integration: (f) => f.endsWith('.int.spec.js'),
  e2e: (f) => f.endsWith('.e2e.spec.js'),
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

function findCompiled(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? findCompiled(path) : [path];
  });
}

const files = packages
  .flatMap((pkg) => findCompiled(join(root, pkg, 'dist')))
  .filter(tiers[tier])
  .sort();
if (files.length === 0) {
  console.error(`no ${tier} tests found: run \`npx tsc -b\` first`);
  process.exit(1);
}
console.log(`${tier}: ${files.length} file(s): ${files.map((f) => relative(root, f)).join(', ')}`);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(result.status ?? 1);
