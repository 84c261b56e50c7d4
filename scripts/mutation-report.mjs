// Scores the mutation run (issue 14): reads each group's Stryker JSON report (reports/mutation/<group>/mutation.json)
// and writes bench/results/mutation.json in the benchmarks' shape ({name, metrics, baseline, ratios, setup, goals}).
// Score = detected (killed + timed out) / valid (detected + survived + no coverage); compile and runtime errors and
// ignored mutants are not valid mutants. Ignored mutants are the equivalent ones: each is marked in the source with a
// `// Stryker disable next-line <Mutator>: <reason>` comment (or a disable/restore pair) saying why no test can kill it.
// A comment disables its mutator on the whole line, so a killed mutant of the same mutator there is ignored too.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATION_MODULES } from './mutation-modules.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** The simple globs in mutation-modules.mjs (`*` within one path segment) as a regular expression. */
function globToRegExp(glob) {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${escaped}$`);
}

function moduleOf(file) {
  return MUTATION_MODULES.find((module) => {
    const matches = (patterns) => patterns.some((pattern) => globToRegExp(pattern).test(file));
    const include = module.mutate.filter((pattern) => !pattern.startsWith('!'));
    const exclude = module.mutate.filter((pattern) => pattern.startsWith('!')).map((pattern) => pattern.slice(1));
    return matches(include) && !matches(exclude);
  });
}

const counts = new Map(
  MUTATION_MODULES.map((module) => [module.name, { detected: 0, valid: 0, survived: 0, ignored: 0 }]),
);
const versions = new Set();
const missing = [];
for (const { name: group } of MUTATION_MODULES) {
  const file = join(root, 'reports', 'mutation', group, 'mutation.json');
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // Not run yet (or stopped): the figures leave it out and the setup says so, rather than failing the others.
    missing.push(group);
    continue;
  }
  if (report.framework?.version) versions.add(report.framework.version);
  for (const [path, { mutants }] of Object.entries(report.files)) {
    const module = moduleOf(path);
    if (!module) throw new Error(`${path} is in the ${group} report but in no module of scripts/mutation-modules.mjs`);
    const count = counts.get(module.name);
    for (const { status } of mutants) {
      if (DETECTED.has(status)) count.detected += 1;
      if (DETECTED.has(status) || UNDETECTED.has(status)) count.valid += 1;
      if (UNDETECTED.has(status)) count.survived += 1;
      if (status === 'Ignored') count.ignored += 1;
    }
  }
}

const score = ({ detected, valid }) => (valid === 0 ? 0 : Math.round((detected / valid) * 1000) / 1000);
const total = [...counts.values()].reduce(
  (sum, count) => ({ detected: sum.detected + count.detected, valid: sum.valid + count.valid }),
  { detected: 0, valid: 0 },
);
const metrics = { mutation_score: score(total), valid_mutants: total.valid, detected_mutants: total.detected };
const goals = { mutation_score: { atLeast: 0.8 } };
for (const [name, count] of counts) {
  if (missing.includes(name)) continue;
  metrics[`mutation_score_${name}`] = score(count);
  goals[`mutation_score_${name}`] = { atLeast: 0.7 };
}
const setup = {
  mutated: MUTATION_MODULES.map((module) => `${module.name}: ${module.mutate.join(' ')}`).join('; '),
  tests: `each module's unit specs (*.spec.ts, compiled by tsc in Stryker's sandbox): ${[
    ...new Set(MUTATION_MODULES.flatMap((module) => module.specs)),
  ].join(' ')}`,
  tool: `Stryker ${[...versions].join(', ')} with @stryker-mutator/tap-runner on Node's test runner, perTest coverage (per spec file), all default mutators`,
  score: 'detected (killed + timed out) / valid (detected + survived + no coverage)',
  ignored: `not in the score: equivalent mutants, each marked in source with a Stryker disable comment giving the reason (${[
    ...counts,
  ]
    .filter(([name]) => !missing.includes(name))
    .map(([name, count]) => `${name} ${count.ignored}`)
    .join(', ')})`,
};
if (missing.length > 0) setup.not_measured = `no Stryker report for ${missing.join(', ')}: overall covers the rest`;
const report = { name: 'mutation', metrics, baseline: {}, ratios: {}, setup, goals };
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'mutation.json'), `${JSON.stringify(report, null, 2)}\n`);
for (const [name, count] of counts) {
  if (missing.includes(name)) {
    console.log(`${name.padEnd(20)}  not run`);
    continue;
  }
  const verdict = score(count) >= goals[`mutation_score_${name}`].atLeast ? 'met' : 'NOT met';
  const ignored = `${count.ignored} ignored (equivalent)`;
  console.log(
    `${name.padEnd(20)} ${String(score(count)).padStart(6)}  ${count.detected}/${count.valid}  ${verdict}  ${ignored}`,
  );
}
console.log(`${'overall'.padEnd(20)} ${String(metrics.mutation_score).padStart(6)}  ${total.detected}/${total.valid}`);
console.log('wrote bench/results/mutation.json; HTML reports in reports/mutation/<group>/index.html');
