// Mutation testing of the core modules (issue 14); run it with `npm run mutation` (scripts/mutation.sh), which runs
// Stryker once per module (MUTATION_GROUP) and then scores the modules. Stryker writes every mutant of a file
// into one instrumented copy in a sandbox (each switched on by an environment variable), builds the module's package
// there once with tsc, and runs the module's compiled unit specs against each mutant with Node's test runner (tap runner).
// Running the compiled specs costs half what loading the TypeScript through tsx does per spec process, and a mutant
// runs one process per spec file that reaches it. Specs import their own module relatively, so they see the mutated
// code; imports by package name (`@tenantlab/shared`) resolve to the unmutated dist of the working tree.
import { MUTATION_MODULES } from './scripts/mutation-modules.mjs';

const group = process.env.MUTATION_GROUP;
const modules = MUTATION_MODULES.filter((module) => module.name === group);
if (modules.length === 0) {
  const names = MUTATION_MODULES.map((module) => module.name);
  throw new Error(`set MUTATION_GROUP to one of ${names.join(', ')} (npm run mutation runs them all)`);
}

/** `services/x/src/a/*.spec.ts` -> `services/x/dist/a/*.spec.js`: what tsc builds in the sandbox. */
function compiled(spec) {
  return spec.replace('/src/', '/dist/').replace(/\.ts$/, '.js');
}

export default {
  packageManager: 'npm',
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: modules.flatMap((module) => module.mutate),
  buildCommand: `npx tsc -b ${modules[0].package}`,
  tap: {
    testFiles: [...new Set(modules.flatMap((module) => module.specs))].map(compiled),
    nodeArgs: ['-r', '{{hookFile}}', '--test-reporter=tap', '{{testFile}}'],
    forceBail: true,
  },
  // The tap runner reports coverage per spec file, so each mutant runs only the spec files that reach it.
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // Generous: the machine is shared, and a run that is slow only because of load must not count as a timeout.
  timeoutMS: 10000,
  incremental: true,
  incrementalFile: `reports/mutation/${group}/stryker-incremental.json`,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${group}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${group}/mutation.json` },
  clearTextReporter: { reportScoreTable: true, reportMutants: false, reportTests: false },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['**/dist/**', '**/*.tsbuildinfo', '/.lab', '/reports', '/bench/results', '/docs', '/infra', '/e2e'],
  thresholds: { high: 80, low: 70, break: null },
};
