import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import { REDIS_KEYS, TENANT_VLAN_RANGE } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { sha256Hex } from '../auth/vm-secrets';
import type { RegisteredVm } from '../registry/vm-record';
import {
  type ErrorReply,
  harnessTenantSecret,
  keepAlive,
  OperatorApi,
  type OperatorUnderTest,
  type TestVm,
  startOperator,
  TEST_ADMIN_TOKEN,
  uniqueId,
} from '../testing/operator-harness';
import type { TenantView } from './tenant-record';
import { TenantsRepository } from './tenants.repository';

/** Declared tenants on a real Redis, behind the operator's HTTP API: the admin API, enrollment, VLANs and caps. */
describe('tenants on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let operator: OperatorUnderTest;
  let api: OperatorApi;
  const labTenant = uniqueId('tenant-lab');
  const labSecret = 'lab-secret-of-the-lab-tenant';

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
      operator = await startOperator(redis.url, {
        LAB_TENANTS: JSON.stringify([{ id: labTenant, secretSha256: sha256Hex(labSecret), caps: { maxVms: 1 } }]),
      });
      api = new OperatorApi(operator.url);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await operator?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  function register(id: string, tenant: string, tenantSecret?: string) {
    return api.call<RegisteredVm & ErrorReply>('POST', '/vms', {
      body: { id, tenant, url: `http://127.0.0.1:1/${id}` },
      ...(tenantSecret === undefined ? {} : { tenantSecret }),
    });
  }

  it('guards the admin API: 401 without a token, 403 with a VM token or a wrong one', async () => {
    const vm = await api.register(uniqueId('vm'), uniqueId('tenant'));
    const body = { id: uniqueId('tenant') };
    assert.equal((await api.call<ErrorReply>('POST', '/tenants', { body })).body.error.code, 'UNAUTHENTICATED');
    for (const token of [vm.credentials.token, `${TEST_ADMIN_TOKEN}x`]) {
      const refused = await api.call<ErrorReply>('POST', '/tenants', { body, token });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error.message, /not the admin token/);
    }
    assert.equal((await api.call('GET', '/tenants')).status, 401);
    assert.equal((await api.call('DELETE', `/tenants/${vm.tenant}`, { token: vm.credentials.token })).status, 403);
  });

  it('declares the lab tenants at start; a VM joins with the secret, and a restarted operator keeps their VLAN', async () => {
    const listed = await api.call<{ tenants: TenantView[] }>('GET', '/tenants', { token: TEST_ADMIN_TOKEN });
    const declared = listed.body.tenants.find((t) => t.id === labTenant);
    assert.ok(declared, 'the lab tenant is declared');
    assert.equal(declared.caps.maxVms, 1);
    assert.ok(!JSON.stringify(listed.body).includes(sha256Hex(labSecret)), 'no secret hash in the answer');
    const vm = await register(uniqueId('vm'), labTenant, labSecret);
    assert.equal(vm.status, 201, JSON.stringify(vm.body));
    assert.equal(vm.body.vlan, declared.vlan);

    const again = await startOperator(redis.url, {
      LAB_TENANTS: JSON.stringify([{ id: labTenant, secretSha256: sha256Hex(labSecret) }]),
    });
    try {
      const view = await new OperatorApi(again.url).call<TenantView>('GET', `/tenants/${labTenant}`, {
        token: TEST_ADMIN_TOKEN,
      });
      assert.equal(view.body.vlan, declared.vlan);
    } finally {
      await again.close();
    }
  });

  it('refuses a VM of an undeclared tenant, creating no tenant and no VLAN', async () => {
    const tenant = uniqueId('tenant-made-up');
    const refused = await register(uniqueId('vm'), tenant, 'any-secret');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'FORBIDDEN');
    assert.match(refused.body.error.message, new RegExp(`tenant ${tenant} is not declared`));
    assert.equal(await admin.hexists(REDIS_KEYS.tenantVlans, tenant), 0);
    assert.equal(await admin.exists(REDIS_KEYS.tenant(tenant)), 0);
  });

  it("refuses a VM with another tenant's secret or none, saying what was wrong and not echoing it", async () => {
    const [tenantA, tenantB] = [uniqueId('tenant-a'), uniqueId('tenant-b')];
    await api.declareTenant(tenantA);
    await api.declareTenant(tenantB);
    const id = uniqueId('vm');
    const wrong = await register(id, tenantB, harnessTenantSecret(tenantA));
    assert.equal(wrong.status, 403);
    assert.match(wrong.body.error.message, new RegExp(`not tenant ${tenantB}'s enrollment secret`));
    assert.ok(!JSON.stringify(wrong.body).includes(harnessTenantSecret(tenantA)));
    const none = await register(id, tenantB);
    assert.equal(none.status, 403);
    assert.match(none.body.error.message, /needs the tenant's enrollment secret: send it in the X-Tenant-Secret/);
    assert.equal(
      (await api.call('GET', `/vms/${id}`, { token: TEST_ADMIN_TOKEN })).status,
      404,
      'nothing was registered',
    );
    assert.equal((await register(id, tenantB, harnessTenantSecret(tenantB))).status, 201);
  });

  it('creates a tenant with a VLAN and a secret shown once; deleting it is 409 while a VM is alive, then frees the VLAN', async () => {
    const tenant = uniqueId('tenant-new');
    const created = await api.call<TenantView & { enrollmentSecret: string }>('POST', '/tenants', {
      body: { id: tenant, caps: { maxCircuits: 10 } },
      token: TEST_ADMIN_TOKEN,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.enrollmentSecret, /^[0-9a-f]{64}$/);
    assert.equal(await admin.hget(REDIS_KEYS.tenantVlans, tenant), String(created.body.vlan));
    const again = await api.call<ErrorReply>('POST', '/tenants', { body: { id: tenant }, token: TEST_ADMIN_TOKEN });
    assert.equal(again.status, 409);
    const badCaps = await api.call<ErrorReply>('POST', '/tenants', {
      body: { id: uniqueId('t'), caps: { maxVm: 1 } },
      token: TEST_ADMIN_TOKEN,
    });
    assert.equal(badCaps.status, 400);
    assert.match(badCaps.body.error.details?.join() ?? '', /caps.maxVm: unknown cap/);

    const vm = await register(uniqueId('vm'), tenant, created.body.enrollmentSecret);
    assert.equal(vm.status, 201);
    assert.equal(vm.body.vlan, created.body.vlan);
    const busy = await api.call<ErrorReply>('DELETE', `/tenants/${tenant}`, { token: TEST_ADMIN_TOKEN });
    assert.equal(busy.status, 409);
    assert.match(busy.body.error.message, /still has 1 VM\(s\) with a live lease/);
    assert.equal((await api.call('DELETE', `/vms/${vm.body.id}`, { token: vm.body.credentials.token })).status, 204);
    assert.equal((await api.call('DELETE', `/tenants/${tenant}`, { token: TEST_ADMIN_TOKEN })).status, 204);
    assert.equal(await admin.hexists(REDIS_KEYS.tenantVlans, tenant), 0, 'the VLAN is free again');
    assert.equal((await register(uniqueId('vm'), tenant, created.body.enrollmentSecret)).status, 403);
  });

  it('gives tenants declared at the same moment distinct VLAN ids', async () => {
    const repository = new TenantsRepository(admin);
    const ids = Array.from({ length: 30 }, () => uniqueId('tenant-c'));
    const outcomes = await Promise.all(
      ids.map((id) => repository.declare({ id, secretSha256: sha256Hex(id), caps: {}, createdAt: 1 }, 'create')),
    );
    const vlans = outcomes.map((o) => (typeof o === 'object' ? o.vlan : 0));
    assert.equal(new Set(vlans).size, ids.length);
    assert.ok(vlans.every((v) => v >= TENANT_VLAN_RANGE.min && v <= TENANT_VLAN_RANGE.max));
  });

  it('enforces the caps maxVms, maxCircuits and vmRingBytes with 429 naming the cap', async () => {
    const tenant = uniqueId('tenant-capped');
    await api.declareTenant(tenant, { maxVms: 2, maxCircuits: 2, vmRingBytes: 4 * 1024 * 1024 });
    const [a, b] = [await api.register(uniqueId('vm'), tenant), await api.register(uniqueId('vm'), tenant)];
    const pump = keepAlive(api, [a, b]);
    try {
      const third = await register(uniqueId('vm'), tenant, harnessTenantSecret(tenant));
      assert.equal(third.status, 429);
      assert.match(third.body.error.message, /quota maxVms exceeded: tenant .* has 2 VM\(s\) with a live lease/);

      const service = uniqueId('svc');
      await api.listen(b, service);
      // 2 rings x 4 MiB would take a's whole vmRingBytes (4 MiB): refused, naming the cap.
      const ring = await api.call<ErrorReply>('POST', '/circuits', {
        body: { target: service, mode: 'stream', capacity: { entries: 16, bytes: 4 * 1024 * 1024 } },
        token: a.credentials.token,
      });
      assert.equal(ring.status, 429);
      assert.match(ring.body.error.message, /quota VM_RING_BYTES exceeded \(cap vmRingBytes\)/);
      // One circuit inside the tenant is 2 endpoints: the second is refused by maxCircuits.
      await api.connect(a, service, { capacity: { entries: 16, bytes: 1024 } });
      const second = await api.call<ErrorReply>('POST', '/circuits', {
        body: { target: service, mode: 'stream', capacity: { entries: 16, bytes: 1024 } },
        token: a.credentials.token,
      });
      assert.equal(second.status, 429);
      assert.match(second.body.error.message, /quota TENANT_MAX_CIRCUITS exceeded \(cap maxCircuits\)/);
    } finally {
      pump.stop();
    }
  });

  it('enforces vmRingEntries: the entries of the rings one VM writes, with 429 naming the cap', async () => {
    const tenant = uniqueId('tenant-entries');
    await api.declareTenant(tenant, { vmRingEntries: 96 });
    const [a, b] = [await api.register(uniqueId('vm'), tenant), await api.register(uniqueId('vm'), tenant)];
    const pump = keepAlive(api, [a, b]);
    try {
      const service = uniqueId('svc');
      await api.listen(b, service);
      // Each endpoint charges its VM the entries of the ring it writes: 64, then 64 more would pass a's 96.
      await api.connect(a, service, { capacity: { entries: 64, bytes: 1024 } });
      const over = await api.call<ErrorReply>('POST', '/circuits', {
        body: { target: service, mode: 'stream', capacity: { entries: 64, bytes: 1024 } },
        token: a.credentials.token,
      });
      assert.equal(over.status, 429);
      assert.match(
        over.body.error.message,
        /quota VM_RING_ENTRIES exceeded \(cap vmRingEntries\): VM .*'s circuits hold 64 ring entries, this circuit would add 64/,
      );
      // What is left of the cap is still given.
      await api.connect(a, service, { capacity: { entries: 32, bytes: 1024 } });
    } finally {
      pump.stop();
    }
  });

  it("enforces ringEntries: the entries of the rings all the tenant's VMs write together, 429 naming the cap", async () => {
    const tenant = uniqueId('tenant-ring-entries');
    await api.declareTenant(tenant, { ringEntries: 96 });
    const vms: TestVm[] = [];
    for (let i = 0; i < 4; i++) vms.push(await api.register(uniqueId('vm'), tenant));
    const [a, b, c, d] = vms as [TestVm, TestVm, TestVm, TestVm];
    const pump = keepAlive(api, vms);
    const capacity = { entries: 32, bytes: 1024 };
    try {
      const [first, second] = [uniqueId('svc'), uniqueId('svc')];
      await api.listen(b, first);
      await api.listen(d, second);
      // a -> b: 2 endpoints x 32 entries = 64 of the tenant's 96, and 32 of each VM's (default) VM_RING_ENTRIES.
      const held = await api.connect(a, first, { capacity });
      // c -> d is on two other VMs, each with nothing yet, but the tenant would be at 128.
      const over = await api.call<ErrorReply>('POST', '/circuits', {
        body: { target: second, mode: 'stream', capacity },
        token: c.credentials.token,
      });
      assert.equal(over.status, 429);
      assert.equal(over.body.error.code, 'QUOTA_EXCEEDED');
      assert.equal(
        over.body.error.message,
        `quota TENANT_RING_ENTRIES exceeded (cap ringEntries): tenant ${tenant}'s circuits hold 64 ring entries, ` +
          'this circuit would add 64 (capacity.entries of the ring each endpoint in the tenant writes), and the ' +
          'limit is 96; close circuits of the tenant or ask for fewer entries',
      );

      // Closing a circuit gives its entries back.
      assert.equal((await api.call('DELETE', `/circuits/${held.id}`, { token: a.credentials.token })).status, 204);
      await api.connect(c, second, { capacity });
      assert.equal(Number(await admin.hget(REDIS_KEYS.circuitUsage, `TENANT_RING_ENTRIES:${tenant}`)), 64);

      // So does deregistering an endpoint VM, which ends its circuits; then the tenant's whole 96 may be taken.
      assert.equal((await api.call('DELETE', `/vms/${c.id}`, { token: c.credentials.token })).status, 204);
      assert.equal(await admin.hexists(REDIS_KEYS.circuitUsage, `TENANT_RING_ENTRIES:${tenant}`), 0);
      await api.connect(a, first, { capacity: { entries: 48, bytes: 1024 } });
    } finally {
      pump.stop();
    }
  });
});
