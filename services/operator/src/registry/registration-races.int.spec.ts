import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import { REDIS_KEYS } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import type { RegisteredVm } from './vm-record';
import {
  type ErrorReply,
  harnessTenantSecret,
  OperatorApi,
  type OperatorUnderTest,
  startOperator,
  TEST_ADMIN_TOKEN,
  uniqueId,
} from '../testing/operator-harness';

/**
 * Registrations racing each other and a tenant's deletion, on a real Redis, through two operators at once (issue 10:
 * maxVms was checked before the write, so concurrent registrations all passed it, and a tenant deleted meanwhile
 * could keep a VM).
 */
describe('registrations racing on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  const operators: OperatorUnderTest[] = [];
  const apis: OperatorApi[] = [];

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
      for (let i = 0; i < 2; i++) {
        const operator = await startOperator(redis.url);
        operators.push(operator);
        apis.push(new OperatorApi(operator.url));
      }
    },
    { timeout: 120_000 },
  );

  after(async () => {
    for (const operator of operators) await operator.close();
    admin?.disconnect();
    await redis?.stop();
  });

  function register(api: OperatorApi, id: string, tenant: string) {
    return api.call<RegisteredVm & ErrorReply>('POST', '/vms', {
      body: { id, tenant, url: `http://127.0.0.1:1/${id}` },
      tenantSecret: harnessTenantSecret(tenant),
    });
  }

  async function registeredVmsOf(tenant: string): Promise<string[]> {
    const ids = await admin.zrange(REDIS_KEYS.vmIndex, 0, -1);
    const tenants = await Promise.all(ids.map((id) => admin.hget(REDIS_KEYS.vm(id), 'tenant')));
    return ids.filter((_, i) => tenants[i] === tenant);
  }

  it('lets exactly maxVms of 20 concurrent registrations through (3), the rest 429 naming the cap', async () => {
    const tenant = uniqueId('tenant-race');
    await apis[0].declareTenant(tenant, { maxVms: 3 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register(apis[i % apis.length], uniqueId(`vm-${i}`), tenant)),
    );
    const statuses = answers.map((answer) => answer.status);
    assert.equal(statuses.filter((status) => status === 201).length, 3, `statuses: ${statuses.join(' ')}`);
    assert.equal(statuses.filter((status) => status === 429).length, 17, `statuses: ${statuses.join(' ')}`);
    for (const refused of answers.filter((answer) => answer.status === 429)) {
      assert.match(refused.body.error.message, /quota maxVms exceeded: tenant .* has 3 VM\(s\) with a live lease/);
    }
    assert.equal((await registeredVmsOf(tenant)).length, 3, 'the registry holds exactly the 3 admitted');
  });

  it('leaves no VM in a deleted tenant, and no VLAN reused under a live VM, when deletion races registrations', async () => {
    let deleted = 0;
    let refused = 0;
    for (let round = 0; round < 12; round++) {
      const tenant = uniqueId('tenant-gone');
      await apis[0].declareTenant(tenant);
      const vlan = Number(await admin.hget(REDIS_KEYS.tenantVlans, tenant));
      const removing = apis[round % 2].call('DELETE', `/tenants/${tenant}`, { token: TEST_ADMIN_TOKEN });
      // Registrations start after 0 to 3 Redis round trips, so the deletion lands before some of them, between
      // others, or after all (both outcomes below must occur).
      for (let trip = 0; trip < round % 4; trip++) await admin.ping();
      const [removal, ...registrations] = await Promise.all([
        removing,
        ...Array.from({ length: 6 }, (_, i) => register(apis[(round + i) % 2], uniqueId(`vm-${round}-${i}`), tenant)),
      ]);
      const vms = await registeredVmsOf(tenant);
      const admitted = registrations.filter((answer) => answer.status === 201).map((answer) => answer.body.id);
      assert.deepEqual(vms.sort(), admitted.sort(), `round ${round}: the registry holds exactly the VMs told 201`);
      if (removal.status === 204) {
        deleted++;
        assert.deepEqual(vms, [], `round ${round}: tenant ${tenant} was deleted, yet VMs ${vms.join(', ')} remain`);
        assert.equal(await admin.exists(REDIS_KEYS.tenant(tenant)), 0);
      } else {
        refused++;
        assert.equal(removal.status, 409, `round ${round}: deletion answered ${removal.status}`);
        assert.ok(vms.length > 0, `round ${round}: deletion refused with no VM registered`);
        // The tenant keeps its VLAN while its VMs live: nobody else can be given it.
        assert.equal(Number(await admin.hget(REDIS_KEYS.tenantVlans, tenant)), vlan);
      }
      for (const answer of registrations.filter((a) => a.status === 201)) assert.equal(answer.body.vlan, vlan);
    }
    // Both outcomes happen over the rounds, so both orders of the race were exercised.
    assert.ok(deleted > 0 && refused > 0, `deleted ${deleted}, refused ${refused}`);
  });
});
