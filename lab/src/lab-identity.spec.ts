import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { composeProject, renderComposeFile } from './docker/compose-file';
import { parseLabDefinition } from './lab-definition';
import { ensureLabIdentity } from './lab-identity';
import { planLab } from './lab-plan';

const INFRA = {
  redis: 'redis://127.0.0.1:16379',
  redisAdmin: `redis://:${'a'.repeat(64)}@127.0.0.1:16379`,
  kafkaBrokers: '127.0.0.1:19092',
  otlpHttp: 'http://127.0.0.1:14318',
  jaegerQuery: 'http://127.0.0.1:26686',
};
const DEFINITION = parseLabDefinition(
  {
    name: 'spec',
    tenants: [
      { id: 'tenant-a', vms: ['vm-a1', 'vm-a2'], caps: { maxVms: 4, vmRingBytes: 65_536 } },
      { id: 'tenant-b', vms: ['vm-b1'] },
    ],
  },
  'spec.json',
);
const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

describe('the lab identity: admin token and tenant enrollment secrets', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lab-identity-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const identity = ensureLabIdentity(dataDir, DEFINITION);

  it('generates one secret per tenant and an admin token, owner-only, the same on the next run', () => {
    const secrets = Object.values(identity.tenantSecrets);
    assert.equal(new Set([...secrets, identity.adminToken]).size, 3);
    assert.ok(secrets.every((secret) => /^[0-9a-f]{64}$/.test(secret)));
    assert.equal(statSync(join(dataDir, 'tenant-secret-tenant-a')).mode & 0o777, 0o600);
    assert.deepEqual(ensureLabIdentity(dataDir, DEFINITION), identity);
  });

  it("gives the operator hashes and caps only, and each VM its own tenant's secret", () => {
    const plan = planLab(DEFINITION, '/repo', INFRA, 10_000, identity);
    const operator = plan.find((spec) => spec.name === 'operator');
    assert.equal(operator?.env['OPERATOR_ADMIN_TOKEN'], identity.adminToken);
    assert.deepEqual(JSON.parse(operator?.env['LAB_TENANTS'] ?? ''), [
      {
        id: 'tenant-a',
        secretSha256: sha256Hex(identity.tenantSecrets['tenant-a'] ?? ''),
        caps: { maxVms: 4, vmRingBytes: 65_536 },
      },
      { id: 'tenant-b', secretSha256: sha256Hex(identity.tenantSecrets['tenant-b'] ?? '') },
    ]);
    for (const spec of plan) {
      const environment = JSON.stringify(spec.env);
      for (const [tenant, secret] of Object.entries(identity.tenantSecrets)) {
        const own = spec.kind === 'vm' && spec.env['TENANT_ID'] === tenant;
        assert.equal(environment.includes(secret), own, `${spec.name} and ${tenant}'s secret`);
      }
      if (spec.name !== 'operator') assert.ok(!environment.includes(identity.adminToken), spec.name);
    }
  });

  it("puts no secret into the compose file: a VM reads its tenant's secret from a file, the operator hashes", () => {
    const text = renderComposeFile(composeProject(DEFINITION));
    for (const secret of [identity.adminToken, ...Object.values(identity.tenantSecrets)]) {
      assert.ok(!text.includes(secret));
    }
    const project = composeProject(DEFINITION);
    assert.equal(project.services['vm-b1']?.environment['TENANT_SECRET_FILE'], '/run/secrets/tenant-secret-tenant-b');
    assert.equal(project.services['vm-b1']?.environment['TENANT_SECRET'], undefined);
    assert.equal(
      project.services['operator']?.environment['LAB_TENANTS'],
      '${LAB_TENANTS:?LAB_TENANTS is generated per lab: start it with npm run lab -- up --mode docker}',
    );
  });

  it('refuses unknown or negative caps in a lab file, naming the path', () => {
    assert.throws(
      () =>
        parseLabDefinition({ name: 'x', tenants: [{ id: 't', vms: [], caps: { maxVm: 1, maxCircuits: -1 } }] }, 'x'),
      (error: Error) =>
        error.message.includes('tenants[0].caps.maxVm: unknown cap') &&
        error.message.includes('tenants[0].caps.maxCircuits: expected a non-negative integer'),
    );
  });

  it('takes the per-tenant ringEntries cap in a lab file, and refuses it negative', () => {
    const caps = { ringEntries: 4096, vmRingEntries: 2048 };
    assert.deepEqual(
      parseLabDefinition({ name: 'x', tenants: [{ id: 't', vms: [], caps }] }, 'x').tenants[0]?.caps,
      caps,
    );
    assert.throws(
      () => parseLabDefinition({ name: 'x', tenants: [{ id: 't', vms: [], caps: { ringEntries: -1 } }] }, 'x'),
      (error: Error) => error.message.includes('tenants[0].caps.ringEntries: expected a non-negative integer'),
    );
  });
});
