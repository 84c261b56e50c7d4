import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { planLab } from './lab-plan';
import { SPEC_INFRA_URLS as INFRA, SPEC_REDIS_PASSWORD as PASSWORD } from './testing/plan-fixtures';

const DEFINITION = { name: 'spec', tenants: [{ id: 'tenant-a', vms: ['vm-a1', 'vm-a2'] }] };

describe('planLab', () => {
  const plan = planLab(DEFINITION, '/repo', INFRA, 10_000);

  it('gives the trusted services Redis as its admin, password included', () => {
    const services = plan.filter((spec) => spec.kind === 'service');
    assert.deepEqual(
      services.map((spec) => [spec.name, spec.env['REDIS_URL']]),
      ['operator', 'switch', 'allocator', 'telemetry'].map((name) => [name, INFRA.redisAdmin]),
    );
  });

  it('gives tenant VMs Redis without any credentials, and the password nowhere in their environment', () => {
    const vms = plan.filter((spec) => spec.kind === 'vm');
    assert.deepEqual(
      vms.map((spec) => spec.name),
      ['vm-a1', 'vm-a2'],
    );
    for (const vm of vms) {
      assert.equal(vm.env['REDIS_URL'], 'redis://127.0.0.1:16379');
      assert.ok(!JSON.stringify(vm).includes(PASSWORD), `${vm.name} can see the admin password`);
    }
  });

  it("gives tenant VMs V8's small young generation (NODE_OPTIONS), and the services V8's defaults", () => {
    for (const spec of plan) {
      const expected = spec.kind === 'vm' ? '--max-semi-space-size=2' : undefined;
      assert.equal(spec.env['NODE_OPTIONS'], expected, spec.name);
    }
  });

  it('tells the operator where the allocator and the switch answer, at the offset ports', () => {
    const operator = plan.find((spec) => spec.name === 'operator');
    assert.equal(operator?.env['ALLOCATOR_URL'], 'http://127.0.0.1:13002');
    assert.equal(operator?.env['SWITCH_URL'], 'http://127.0.0.1:13001');
    assert.equal(plan.find((spec) => spec.name === 'allocator')?.url, 'http://127.0.0.1:13002');
    assert.equal(plan.find((spec) => spec.name === 'switch')?.url, 'http://127.0.0.1:13001');
  });

  it('keeps the password out of every URL the lab shows', () => {
    assert.ok(plan.every((spec) => !spec.url.includes(PASSWORD)));
  });
});

describe('planLab with switch settings (a scenario variant)', () => {
  it("puts the lab file's switchEnv into the switch's environment only", () => {
    const env = { PROGRAM_CPU_NS_PER_SECOND: '1000000000000' };
    const plan = planLab({ ...DEFINITION, switchEnv: env }, '/repo', INFRA, 0);
    assert.equal(plan.find((spec) => spec.name === 'switch')?.env['PROGRAM_CPU_NS_PER_SECOND'], '1000000000000');
    for (const spec of plan.filter((s) => s.name !== 'switch')) {
      assert.equal(spec.env['PROGRAM_CPU_NS_PER_SECOND'], undefined, spec.name);
    }
    assert.equal(
      planLab(DEFINITION, '/repo', INFRA, 0).find((spec) => spec.name === 'switch')?.env['PROGRAM_CPU_NS_PER_SECOND'],
      undefined,
    );
  });
});

describe('planLab with allocator settings (a scenario variant)', () => {
  it("puts the lab file's allocatorEnv into the allocator's environment only", () => {
    const plan = planLab({ ...DEFINITION, allocatorEnv: { ALLOCATOR_REALLOCATION: 'static' } }, '/repo', INFRA, 0);
    assert.equal(plan.find((spec) => spec.name === 'allocator')?.env['ALLOCATOR_REALLOCATION'], 'static');
    for (const spec of plan.filter((s) => s.name !== 'allocator')) {
      assert.equal(spec.env['ALLOCATOR_REALLOCATION'], undefined, spec.name);
    }
  });
});
