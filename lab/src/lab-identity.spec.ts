import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { controlTokenSha256, vmControlToken, withoutCredentials } from '@tenantlab/shared';
import { composeProject, renderComposeFile, vmControlTokenHashVariable } from './docker/compose-file';
import { parseLabDefinition } from './lab-definition';
import {
  ensureLabIdentity,
  labVmControlUrl,
  vmControlTokenHash,
  vmControlTokenName,
  withToolUrls,
} from './lab-identity';
import { ensureJaegerQueryPassword, readLabSecret } from './lab-secrets';
import { planLab } from './lab-plan';
import { SPEC_INFRA_URLS as INFRA } from './testing/plan-fixtures';

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

  it('gives each VM the hash of its own control token (Docker: a variable of its own), no process the key', () => {
    const plan = planLab(DEFINITION, '/repo', INFRA, 10_000, identity);
    const vms = plan.filter((spec) => spec.kind === 'vm');
    const tokenOf = (vm: string): string => vmControlToken(identity.vmControlKey, vm);
    for (const spec of vms) {
      assert.equal(spec.env['CONTROL_TOKEN_SHA256'], controlTokenSha256(tokenOf(spec.name)), spec.name);
      assert.equal(vmControlTokenHash(identity, spec.name), spec.env['CONTROL_TOKEN_SHA256']);
    }
    assert.equal(new Set(vms.map((spec) => spec.env['CONTROL_TOKEN_SHA256'])).size, vms.length, 'one per VM');
    for (const spec of plan) {
      const environment = JSON.stringify(spec.env);
      assert.ok(!environment.includes(identity.vmControlKey), `${spec.name} holds no key`);
      assert.ok(
        vms.every((vm) => !environment.includes(tokenOf(vm.name))),
        `${spec.name} holds no control token`,
      );
    }
    const project = composeProject(DEFINITION);
    assert.equal(
      project.services['vm-a1']?.environment['CONTROL_TOKEN_SHA256'],
      `\${${vmControlTokenHashVariable('vm-a1')}:-}`,
    );
    assert.equal(vmControlTokenHashVariable('vm-a1'), 'VM_CONTROL_TOKEN_SHA256_VM_A1');
  });

  it("writes each VM's control token file, and deletes those of VMs the lab file no longer has", () => {
    const folder = mkdtempSync(join(tmpdir(), 'lab-identity-tokens-'));
    try {
      ensureLabIdentity(folder, DEFINITION);
      const smaller = parseLabDefinition({ name: 'spec', tenants: [{ id: 'tenant-a', vms: ['vm-a1'] }] }, 'spec.json');
      const kept = ensureLabIdentity(folder, smaller);
      const tokenFiles = readdirSync(folder).filter((file) => file.startsWith('vm-control-token-'));
      assert.deepEqual(tokenFiles, [vmControlTokenName('vm-a1')]);
      assert.equal(readLabSecret(folder, vmControlTokenName('vm-a1')), vmControlToken(kept.vmControlKey, 'vm-a1'));
      assert.ok(
        readLabSecret(folder, 'tenant-secret-tenant-b'),
        "a tenant's secret stays (the lab file may take it back)",
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("hands the lab's tools each VM's control URL (its token as user info), the state file its plain URL", () => {
    const url = labVmControlUrl(dataDir, 'vm-b1', 'http://127.0.0.1:13103');
    const parsed = new URL(url);
    assert.equal(parsed.username, 'lab');
    assert.equal(parsed.password, vmControlToken(identity.vmControlKey, 'vm-b1'));
    assert.equal(`${parsed.protocol}//${parsed.host}`, 'http://127.0.0.1:13103');
    assert.equal(withoutCredentials(url), 'http://127.0.0.1:13103');
    const state = {
      profile: 'spec',
      runnerPid: 1,
      portOffset: 0,
      startedAt: '',
      components: [
        { name: 'operator', kind: 'service' as const, url: 'http://127.0.0.1:3000', pid: 2 },
        { name: 'vm-b1', kind: 'vm' as const, url: 'http://127.0.0.1:13103', pid: 3 },
      ],
    };
    const driven = withToolUrls(state, dataDir);
    assert.deepEqual(
      driven.components.map((component) => component.url),
      ['http://127.0.0.1:3000', url],
    );
    assert.equal(state.components[1]?.url, 'http://127.0.0.1:13103', 'the state itself is left as it was');
    // Each VM's token in a file of its own, owner-only, for curl.
    assert.equal(readLabSecret(dataDir, vmControlTokenName('vm-b1')), parsed.password);
    assert.equal(statSync(join(dataDir, vmControlTokenName('vm-b1'))).mode & 0o777, 0o600);
    const elsewhere = mkdtempSync(join(tmpdir(), 'lab-identity-none-'));
    assert.equal(labVmControlUrl(elsewhere, 'vm-b1', 'http://127.0.0.1:13103'), 'http://127.0.0.1:13103');
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it("hands the lab's tools Jaeger's query URL with the local lab's password, the Docker lab's and the state's plain", () => {
    const folder = mkdtempSync(join(tmpdir(), 'lab-identity-jaeger-'));
    try {
      const components = [{ name: 'jaeger', kind: 'infra' as const, url: 'http://127.0.0.1:16686', pid: 2 }];
      const local = { profile: 'spec', runnerPid: 1, portOffset: 0, startedAt: '', components };
      assert.equal(withToolUrls(local, folder).components[0]?.url, 'http://127.0.0.1:16686', 'no password made yet');
      const password = ensureJaegerQueryPassword(folder);
      const driven = new URL(withToolUrls(local, folder).components[0]?.url ?? '');
      assert.deepEqual([driven.username, driven.password, driven.host], ['lab', password, '127.0.0.1:16686']);
      assert.equal(components[0]?.url, 'http://127.0.0.1:16686', 'the state itself is left as it was');
      const docker = { ...local, mode: 'docker' as const };
      assert.equal(withToolUrls(docker, folder).components[0]?.url, 'http://127.0.0.1:16686', 'no VM reaches it there');
    } finally {
      rmSync(folder, { recursive: true, force: true });
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
