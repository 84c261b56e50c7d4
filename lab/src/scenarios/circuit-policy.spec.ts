import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeProject } from '../docker/compose-file';
import { planLab } from '../lab-plan';
import { circuitPolicyOf } from './scenario-runner';

const infra = {
  redis: 'redis://127.0.0.1:6379',
  redisAdmin: 'redis://127.0.0.1:6379',
  kafkaBrokers: '127.0.0.1:9092',
  otlpHttp: 'http://127.0.0.1:4318',
  jaegerQuery: '',
};

describe("a scenario's circuit policy (tenants[].allow)", () => {
  const tenants = [
    { id: 'tenant-a', vms: ['vm-a1'], allow: [{ to: 'tenant-b', service: 'db:5432' }] },
    { id: 'tenant-b', vms: ['vm-b1'] },
  ];
  const circuitPolicy = circuitPolicyOf({ name: 'policy', tenants });

  it("becomes the operator's CIRCUIT_POLICY rules, in both modes", () => {
    assert.deepEqual(circuitPolicy, [{ from: 'tenant-a', to: 'tenant-b', service: 'db:5432' }]);
    const operator = planLab({ name: 'policy', tenants, circuitPolicy }, '/repo', infra, 0).find(
      (spec) => spec.name === 'operator',
    );
    assert.deepEqual(JSON.parse(operator?.env['CIRCUIT_POLICY'] ?? '[]'), circuitPolicy);
    const compose = composeProject({ name: 'policy', tenants, circuitPolicy });
    const environment = (compose.services['operator'] as { environment: Record<string, string> }).environment;
    assert.deepEqual(JSON.parse(environment['CIRCUIT_POLICY'] ?? '[]'), circuitPolicy);
  });

  it('leaves the operator without a policy when no tenant allows anything', () => {
    const plain = [{ id: 'tenant-a', vms: ['vm-a1'] }];
    const operator = planLab({ name: 'plain', tenants: plain }, '/repo', infra, 0).find((s) => s.name === 'operator');
    assert.equal(operator?.env['CIRCUIT_POLICY'], undefined);
    const compose = composeProject({ name: 'plain', tenants: plain });
    assert.equal(
      (compose.services['operator'] as { environment: Record<string, string> }).environment['CIRCUIT_POLICY'],
      undefined,
    );
  });
});
