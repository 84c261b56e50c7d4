import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, NotFoundError, TENANT_VLAN_RANGE } from '@tenantlab/shared';
import { ForbiddenError } from '../auth/auth.errors';
import { sha256Hex } from '../auth/vm-secrets';
import { declareTestTenants, testTenantSecret } from '../testing/in-memory-repositories';
import { parseDeclaredTenants } from './declared-tenants';
import { parseTenantCaps } from './tenant-caps';
import { TenantVlansExhaustedError } from './tenants.errors';

describe('TenantsService', () => {
  it("declares the lab's tenants with VLANs, idempotently: a second start keeps each VLAN and takes a new secret", async () => {
    const { tenants, repository } = await declareTestTenants(['tenant-a', 'tenant-b']);
    assert.deepEqual(
      (await tenants.list()).map((t) => [t.id, t.vlan]),
      [
        ['tenant-a', 1],
        ['tenant-b', 2],
      ],
    );
    await repository.declare({ id: 'tenant-a', secretSha256: sha256Hex('rotated'), caps: {}, createdAt: 5 }, 'declare');
    await tenants.declareLabTenants();
    assert.equal((await tenants.get('tenant-a')).vlan, 1);
    assert.equal((await tenants.admit('tenant-a', testTenantSecret('tenant-a'))).id, 'tenant-a');
  });

  it('creates a tenant with a fresh secret, stores only its hash, and refuses to create it twice', async () => {
    const { tenants, repository } = await declareTestTenants([]);
    const { tenant, enrollmentSecret = assert.fail('no secret in the answer') } = await tenants.create('tenant-n', {
      maxVms: 3,
    });
    assert.match(enrollmentSecret, /^[0-9a-f]{64}$/);
    assert.equal(tenant.caps.maxVms, 3);
    assert.equal(tenant.caps.maxCircuits, 1024, 'the default where the tenant sets none');
    assert.ok(!JSON.stringify([...repository.tenants.values()]).includes(enrollmentSecret));
    assert.equal((await tenants.admit('tenant-n', enrollmentSecret)).vlan, tenant.vlan);
    await assert.rejects(tenants.create('tenant-n', {}), ConflictError);
  });

  it("creates a tenant from an administrator's own secret hash, showing no secret, and admits that secret", async () => {
    const { tenants, repository } = await declareTestTenants([]);
    const created = await tenants.create('tenant-h', {}, sha256Hex('the-admins-own-secret'));
    assert.equal(created.enrollmentSecret, undefined);
    assert.equal(repository.tenants.get('tenant-h')?.secretSha256, sha256Hex('the-admins-own-secret'));
    assert.equal((await tenants.admit('tenant-h', 'the-admins-own-secret')).id, 'tenant-h');
  });

  it('admits a VM only with its declared tenant and that tenant secret', async () => {
    const { tenants } = await declareTestTenants(['tenant-a', 'tenant-b']);
    await assert.rejects(tenants.admit('tenant-x', 'anything'), (e: unknown) => e instanceof ForbiddenError);
    await assert.rejects(tenants.admit('tenant-b', undefined), /X-Tenant-Secret header/);
    await assert.rejects(tenants.admit('tenant-b', testTenantSecret('tenant-a')), /not tenant tenant-b's enrollment/);
  });

  it("declares the lab's tenants again when Redis lost every tenant, but not one an administrator deleted", async () => {
    const { tenants, repository } = await declareTestTenants(['tenant-a', 'tenant-b']);
    await tenants.remove('tenant-b');
    await assert.rejects(tenants.admit('tenant-b', testTenantSecret('tenant-b')), /tenant tenant-b is not declared/);
    repository.tenants.clear(); // Redis restarted empty
    repository.vlans.clear();
    assert.equal((await tenants.admit('tenant-b', testTenantSecret('tenant-b'))).id, 'tenant-b');
    assert.deepEqual((await tenants.list()).map((t) => t.id).sort(), ['tenant-a', 'tenant-b']);
  });

  it('returns the VLAN when a tenant is deleted, and the next tenant may get it', async () => {
    const { tenants } = await declareTestTenants(['tenant-a']);
    await tenants.remove('tenant-a');
    await assert.rejects(tenants.get('tenant-a'), NotFoundError);
    await assert.rejects(tenants.remove('tenant-a'), NotFoundError);
    const again = await tenants.create('tenant-a', {});
    assert.equal(again.tenant.vlan, 2, 'the next free id after the last given out');
  });

  it('refuses a new tenant when every VLAN id is taken', async () => {
    const { tenants, repository } = await declareTestTenants([]);
    for (let i = 0; repository.vlans.size < TENANT_VLAN_RANGE.max; i++) repository.vlans.set(`t-${i}`, i + 1);
    await assert.rejects(tenants.create('tenant-late', {}), TenantVlansExhaustedError);
    assert.equal(repository.tenants.has('tenant-late'), false);
  });

  it('takes a ringEntries cap over TENANT_RING_ENTRIES, and refuses a negative, fractional or misspelt one', async () => {
    assert.deepEqual(parseTenantCaps({ ringEntries: 0 }, 'caps'), { caps: { ringEntries: 0 }, problems: [] });
    assert.deepEqual(parseTenantCaps({ ringEntries: -1, ringEntrie: 5 }, 'caps').problems, [
      `caps.ringEntries: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}`,
      'caps.ringEntrie: unknown cap; expected one of maxVms, maxCircuits, maxPrograms, ringBytes, vmRingBytes, ' +
        'ringEntries, vmRingEntries',
    ]);
    assert.deepEqual(parseTenantCaps({ ringEntries: 1.5 }, 'caps').problems, [
      `caps.ringEntries: expected an integer from 0 to ${Number.MAX_SAFE_INTEGER}`,
    ]);

    const { tenants } = await declareTestTenants(['tenant-a'], { config: { TENANT_RING_ENTRIES: 4096 } });
    assert.equal((await tenants.get('tenant-a')).caps.ringEntries, 4096, 'the default where the tenant sets none');
    const own = await tenants.create('tenant-e', { ringEntries: 96 });
    assert.equal(own.tenant.caps.ringEntries, 96);
    assert.equal(own.tenant.caps.vmRingEntries, 65_536, 'the per-VM cap is a separate one');
    assert.equal(
      tenants.describeCap('tenant-a', 'ringEntries', {}),
      'TENANT_RING_ENTRIES (the default cap ringEntries)',
    );
  });

  it('validates caps and LAB_TENANTS, naming each problem', () => {
    assert.deepEqual(parseTenantCaps({ maxVms: 2, vmRingBytes: 4096 }, 'caps').caps, { maxVms: 2, vmRingBytes: 4096 });
    assert.deepEqual(parseTenantCaps({ maxVm: 2, maxPrograms: 2 }, 'caps').problems, [
      'caps.maxVm: unknown cap; expected one of maxVms, maxCircuits, maxPrograms, ringBytes, vmRingBytes, ringEntries, ' +
        'vmRingEntries',
      'caps.maxPrograms: expected an integer from 0 to 1',
    ]);
    const hash = sha256Hex('s');
    assert.deepEqual(parseDeclaredTenants([{ id: 'tenant-a', secretSha256: hash }]), [
      { id: 'tenant-a', secretSha256: hash, caps: {} },
    ]);
    assert.equal(parseDeclaredTenants([{ id: 'tenant-a', secretSha256: 'plain-secret' }]), undefined);
    const twice = { id: 'tenant-a', secretSha256: hash };
    assert.equal(parseDeclaredTenants([twice, twice]), undefined);
  });
});
