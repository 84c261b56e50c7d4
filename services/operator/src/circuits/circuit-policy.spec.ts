import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseEnv } from '@tenantlab/shared';
import { operatorEnv } from '../config/operator.config';
import { evaluatePolicy, parseCircuitPolicy } from './circuit-policy';

const rules = [{ from: 'tenant-a', to: 'tenant-b', service: 'db:5432' }];

describe('evaluatePolicy', () => {
  it('allows any service within a tenant, without a rule', () => {
    assert.equal(evaluatePolicy([], 'tenant-a', 'tenant-a', 'anything').allowed, true);
  });

  it('refuses across tenants without a rule, saying who may not reach what', () => {
    const decision = evaluatePolicy([], 'tenant-a', 'tenant-b', 'db:5432');
    assert.equal(decision.allowed, false);
    assert.equal(decision.reason, "tenant-a may not connect to tenant-b's service db:5432: no rule allows it");
  });

  it('allows exactly the service, direction and tenants a rule names', () => {
    assert.equal(evaluatePolicy(rules, 'tenant-a', 'tenant-b', 'db:5432').allowed, true);
    assert.equal(evaluatePolicy(rules, 'tenant-a', 'tenant-b', 'db:5433').allowed, false, 'another service');
    assert.equal(evaluatePolicy(rules, 'tenant-b', 'tenant-a', 'db:5432').allowed, false, 'the reverse direction');
    assert.equal(evaluatePolicy(rules, 'tenant-c', 'tenant-b', 'db:5432').allowed, false, 'another source tenant');
    assert.equal(evaluatePolicy(rules, 'tenant-a', 'tenant-c', 'db:5432').allowed, false, 'another target tenant');
  });
});

describe('CIRCUIT_POLICY', () => {
  it('parses rules and defaults to no rules', () => {
    assert.deepEqual(parseCircuitPolicy(rules), rules);
    const config = parseEnv(operatorEnv, { SERVICE_TOKEN: 'c'.repeat(64) });
    assert.deepEqual(config.CIRCUIT_POLICY, []);
    assert.deepEqual(
      parseEnv(operatorEnv, { SERVICE_TOKEN: 'c'.repeat(64), CIRCUIT_POLICY: JSON.stringify(rules) }).CIRCUIT_POLICY,
      rules,
    );
  });

  for (const [what, raw] of [
    ['not JSON', '[{from: tenant-a}]'],
    ['not an array', '{"from":"tenant-a","to":"tenant-b","service":"db"}'],
    ['a missing field', '[{"from":"tenant-a","to":"tenant-b"}]'],
    ['an unknown field', '[{"from":"tenant-a","to":"tenant-b","service":"db","ports":[1]}]'],
    ['a bad tenant id', '[{"from":"Tenant A","to":"tenant-b","service":"db"}]'],
    ['a bad service name', '[{"from":"tenant-a","to":"tenant-b","service":"db/5432"}]'],
  ] as const) {
    it(`stops the operator on ${what}, naming CIRCUIT_POLICY and what it expects, not the value`, () => {
      assert.throws(
        () => parseEnv(operatorEnv, { CIRCUIT_POLICY: raw }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === 'CIRCUIT_POLICY' &&
          error.message.startsWith('CIRCUIT_POLICY is invalid: expected a JSON array of rules') &&
          !error.message.includes(raw),
      );
    });
  }
});
