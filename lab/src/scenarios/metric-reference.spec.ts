import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readReference } from './metric-reference';
import type { MetricReference } from './scenario';

/** A repository root holding bench/results/allocation.json with `document`. */
function rootWith(document: unknown): string {
  const root = mkdtempSync(join(tmpdir(), 'reference-'));
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  writeFileSync(join(root, 'bench', 'results', 'allocation.json'), text);
  return root;
}

const REFERENCE: MetricReference = {
  label: 'the in-process model (npm run bench -- allocation)',
  file: 'bench/results/allocation.json',
  key: 'metrics.scenario_satisfaction_mean_utility_driven',
  seedKey: 'setup.scenario_seed',
  within: 0.05,
};

const RESULTS = { metrics: { scenario_satisfaction_mean_utility_driven: 0.934 }, setup: { scenario_seed: 4 } };

describe('readReference', () => {
  it('sets the number at the key beside the metric, with the difference and whether it is within the goal', () => {
    const root = rootWith(RESULTS);
    assert.deepEqual(readReference(REFERENCE, 0.954, 4, root), {
      label: REFERENCE.label,
      file: REFERENCE.file,
      within: 0.05,
      value: 0.934,
      difference: 0.02,
      met: true,
    });
    const far = readReference(REFERENCE, 0.85, 4, root);
    assert.deepEqual([far.difference, far.met], [-0.084, false]);
    const unmeasured = readReference(REFERENCE, null, 4, root);
    assert.deepEqual([unmeasured.value, unmeasured.difference, unmeasured.met], [0.934, null, undefined]);
    const noGoal = readReference({ ...REFERENCE, within: undefined }, 0.954, 4, root);
    assert.deepEqual([noGoal.difference, noGoal.met, 'within' in noGoal], [0.02, undefined, false]);
  });

  it('compares nothing measured on another seed, and says which', () => {
    const other = readReference(REFERENCE, 0.954, 7, rootWith(RESULTS));
    assert.deepEqual([other.value, other.difference, other.met], [null, null, undefined]);
    assert.equal(other.note, 'bench/results/allocation.json was measured on seed 4, this run on 7');
    const unseeded = readReference(REFERENCE, 0.954, 4, rootWith({ metrics: RESULTS.metrics }));
    assert.equal(unseeded.note, 'bench/results/allocation.json was measured on seed undefined, this run on 4');
  });

  it('says what to run when the file is missing, and what is wrong with one it cannot use', () => {
    const empty = mkdtempSync(join(tmpdir(), 'reference-'));
    const missing = readReference(REFERENCE, 0.954, 4, empty);
    assert.equal(missing.value, null);
    assert.equal(missing.note, `bench/results/allocation.json not found: ${REFERENCE.label}`);
    assert.match(readReference(REFERENCE, 1, 4, rootWith('{ not json')).note ?? '', /is not JSON: SyntaxError/);
    const noKey = readReference(REFERENCE, 1, 4, rootWith({ metrics: { other: 1 }, setup: { scenario_seed: 4 } }));
    assert.equal(noKey.note, 'bench/results/allocation.json has no number at ' + REFERENCE.key);
    const text = { metrics: { scenario_satisfaction_mean_utility_driven: '0.9' }, setup: { scenario_seed: 4 } };
    assert.equal(readReference(REFERENCE, 1, 4, rootWith(text)).value, null, 'a string is not a number');
    const outside = readReference({ ...REFERENCE, file: '../elsewhere.json' }, 1, 4, empty);
    assert.equal(outside.note, '../elsewhere.json is outside the repository');
  });
});
