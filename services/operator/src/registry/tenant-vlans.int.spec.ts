import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import { REDIS_KEYS, TENANT_VLAN_RANGE } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import {
  type ErrorReply,
  OperatorApi,
  type OperatorUnderTest,
  startOperator,
  uniqueId,
} from '../testing/operator-harness';
import { TenantVlanRepository } from './tenant-vlan.repository';
import type { RegisteredVm, VmView } from './vm-record';

/** The VLAN script on a real Redis, alone and behind the operator's HTTP API. */
describe('tenant VLANs on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let operator: OperatorUnderTest;
  let api: OperatorApi;
  let vlans: TenantVlanRepository;

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
      operator = await startOperator(redis.url);
      api = new OperatorApi(operator.url);
      vlans = new TenantVlanRepository(admin);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await operator?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  beforeEach(async () => {
    await admin.del(REDIS_KEYS.tenantVlans, REDIS_KEYS.lastTenantVlan);
  });

  async function register(id: string, tenant: string): Promise<{ status: number; body: RegisteredVm & ErrorReply }> {
    return api.call<RegisteredVm & ErrorReply>('POST', '/vms', {
      body: { id, tenant, url: `http://127.0.0.1:1/${id}` },
    });
  }

  it('shows the VLAN in POST /vms, GET /vms and GET /vms/:id: one id per tenant, the next for the next tenant', async () => {
    const [tenantA, tenantB] = [uniqueId('tenant-a'), uniqueId('tenant-b')];
    const [a1, a2, b1] = [uniqueId('vm-a'), uniqueId('vm-a'), uniqueId('vm-b')];
    const answers = [await register(a1, tenantA), await register(a2, tenantA), await register(b1, tenantB)];
    assert.deepEqual(
      answers.map(({ status, body }) => [status, body.vlan]),
      [
        [201, 1],
        [201, 1],
        [201, 2],
      ],
    );
    const listed = await api.call<{ vms: VmView[] }>('GET', `/vms?tenant=${tenantA}`);
    assert.deepEqual(
      listed.body.vms.map((vm) => vm.vlan),
      [1, 1],
    );
    assert.equal((await api.call<VmView>('GET', `/vms/${b1}`)).body.vlan, 2);
    assert.equal(await admin.hget(REDIS_KEYS.tenantVlans, tenantB), '2');
  });

  it('gives tenants registering at the same moment distinct ids, and one tenant asking many times one id', async () => {
    const tenants = Array.from({ length: 40 }, (_, i) => `tenant-${i}`);
    const given = await Promise.all(tenants.map((tenant) => vlans.vlanOf(tenant)));
    assert.deepEqual(
      [...given].sort((a, b) => (a ?? 0) - (b ?? 0)),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    const same = await Promise.all(Array.from({ length: 20 }, () => vlans.vlanOf('tenant-x')));
    assert.deepEqual(new Set(same), new Set([41]));
  });

  it('takes the first free id after the last one given out, wrapping from 4094 to 1 and skipping taken ids', async () => {
    await admin.hset(REDIS_KEYS.tenantVlans, 'tenant-old-1', 1, 'tenant-old-2', 2, 'tenant-old-4094', 4094);
    await admin.set(REDIS_KEYS.lastTenantVlan, TENANT_VLAN_RANGE.max);
    assert.equal(await vlans.vlanOf('tenant-new'), 3);
    assert.equal(await admin.get(REDIS_KEYS.lastTenantVlan), '3');
  });

  it('refuses the first VM of a new tenant with 409 once all 4094 ids are taken; known tenants still register', async () => {
    const taken = Array.from({ length: TENANT_VLAN_RANGE.max }, (_, i) => [`tenant-${i + 1}`, i + 1]).flat();
    await admin.hset(REDIS_KEYS.tenantVlans, ...taken);
    await admin.set(REDIS_KEYS.lastTenantVlan, TENANT_VLAN_RANGE.max);
    assert.equal(await vlans.vlanOf('tenant-late'), undefined);

    const id = uniqueId('vm-late');
    const refused = await register(id, 'tenant-late');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'CONFLICT');
    assert.match(refused.body.error.message, /tenant tenant-late has no VLAN id and none is left: all 4094/);
    assert.equal((await api.call('GET', `/vms/${id}`)).status, 404, 'the refused VM was not registered');

    const known = await register(uniqueId('vm-k'), 'tenant-17');
    assert.equal(known.status, 201);
    assert.equal(known.body.vlan, 17);
  });
});
