import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, TEST_SERVICE_TOKENS, type TestRedis } from '@tenantlab/lab';
import type { VmView } from './vm-record';
import {
  type ErrorReply,
  OperatorApi,
  type OperatorUnderTest,
  startOperator,
  TEST_ADMIN_TOKEN,
  type TestVm,
  uniqueId,
} from '../testing/operator-harness';

/**
 * Who may read the registry (issue 10): it names every tenant's VMs and their control URLs, a map of the lab for an
 * attacker. A VM's token reads its own tenant's VMs only; the admin token and service tokens read the whole lab.
 */
describe("the registry's reads on a real Redis", () => {
  let redis: TestRedis;
  let operator: OperatorUnderTest;
  let api: OperatorApi;
  let alice: TestVm;
  let aliceMate: TestVm;
  let bob: TestVm;
  const tenantA = uniqueId('tenant-ra');
  const tenantB = uniqueId('tenant-rb');

  before(
    async () => {
      redis = await startTestRedis();
      operator = await startOperator(redis.url);
      api = new OperatorApi(operator.url);
      alice = await api.register(uniqueId('vm-alice'), tenantA);
      aliceMate = await api.register(uniqueId('vm-alice-mate'), tenantA);
      bob = await api.register(uniqueId('vm-bob'), tenantB);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await operator?.close();
    await redis?.stop();
  });

  const ids = (vms: VmView[]): string[] => vms.map((vm) => vm.id).sort();

  it("lists every tenant's VMs to the admin token and to a trusted service's token, filtered by ?tenant=", async () => {
    for (const token of [TEST_ADMIN_TOKEN, TEST_SERVICE_TOKENS.telemetry]) {
      const all = await api.call<{ vms: VmView[] }>('GET', '/vms', { token });
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.deepEqual(ids(all.body.vms), [alice.id, aliceMate.id, bob.id].sort());
      const onlyB = await api.call<{ vms: VmView[] }>('GET', `/vms?tenant=${tenantB}`, { token });
      assert.deepEqual(ids(onlyB.body.vms), [bob.id]);
      const one = await api.call<VmView>('GET', `/vms/${bob.id}`, { token });
      assert.equal(one.status, 200);
      assert.equal(one.body.tenant, tenantB);
    }
  });

  it("lists only its own tenant's VMs to a VM's token, and refuses another tenant's list with 403", async () => {
    const own = await api.call<{ vms: VmView[] }>('GET', '/vms', { token: alice.credentials.token });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.deepEqual(ids(own.body.vms), [alice.id, aliceMate.id].sort());
    const ownFiltered = await api.call<{ vms: VmView[] }>('GET', `/vms?tenant=${tenantA}`, {
      token: alice.credentials.token,
    });
    assert.deepEqual(ids(ownFiltered.body.vms), [alice.id, aliceMate.id].sort());
    const other = await api.call<ErrorReply>('GET', `/vms?tenant=${tenantA}`, { token: bob.credentials.token });
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, 'FORBIDDEN');
    assert.match(other.body.error.message, /its own tenant's VMs only/);
    assert.ok(!JSON.stringify(other.body).includes(alice.id), 'no VM of the other tenant is named');
  });

  it("answers a VM's token about another tenant's VM exactly as about a VM that is not registered (404)", async () => {
    const mate = await api.call<VmView>('GET', `/vms/${aliceMate.id}`, { token: alice.credentials.token });
    assert.equal(mate.status, 200);
    const across = await api.call<ErrorReply>('GET', `/vms/${alice.id}`, { token: bob.credentials.token });
    const nobody = 'vm-nobody-ever';
    const missing = await api.call<ErrorReply>('GET', `/vms/${nobody}`, { token: bob.credentials.token });
    assert.equal(across.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(across.body.error.message.replace(alice.id, 'X'), missing.body.error.message.replace(nobody, 'X'));
  });

  it("refuses a read with no token (401) and with a token that is nobody's (403), naming what to send", async () => {
    for (const path of ['/vms', `/vms/${alice.id}`]) {
      const anonymous = await api.call<ErrorReply>('GET', path);
      assert.equal(anonymous.status, 401, path);
      assert.equal(anonymous.body.error.code, 'UNAUTHENTICATED');
      assert.match(anonymous.body.error.message, /Authorization: Bearer/);
      const forged = await api.call<ErrorReply>('GET', path, { token: `${TEST_ADMIN_TOKEN}x` });
      assert.equal(forged.status, 403, path);
      assert.equal(forged.body.error.code, 'FORBIDDEN');
    }
  });

  it("stops answering a deregistered VM's token", async () => {
    const leaving = await api.register(uniqueId('vm-leaving'), tenantA);
    assert.equal((await api.call('DELETE', `/vms/${leaving.id}`, { token: leaving.credentials.token })).status, 204);
    assert.equal((await api.call('GET', '/vms', { token: leaving.credentials.token })).status, 403);
  });
});
