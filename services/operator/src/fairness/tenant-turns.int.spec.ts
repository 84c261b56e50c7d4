import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  type ErrorReply,
  harnessTenantSecret,
  OperatorApi,
  type OperatorUnderTest,
  startOperator,
  TEST_ADMIN_TOKEN,
  type TestVm,
  uniqueId,
} from '../testing/operator-harness';

/**
 * Each tenant's calls to the operator take turns (issue 10: the operator is shared, and one VM keeping dozens of
 * calls in flight made every other tenant's calls wait behind them). Here with one call of a tenant at a time and two
 * waiting, so a flood overflows at once and shows what is held, what is refused and what is never touched.
 */
describe("tenants' turns at the operator, on a real Redis", () => {
  let redis: TestRedis;
  let operator: OperatorUnderTest;
  let api: OperatorApi;
  let flooder: TestVm;
  let victim: TestVm;

  before(
    async () => {
      redis = await startTestRedis();
      operator = await startOperator(redis.url, {
        TENANT_OPERATOR_CALLS_IN_FLIGHT: '1',
        TENANT_OPERATOR_CALLS_WAITING: '2',
      });
      api = new OperatorApi(operator.url);
      flooder = await api.register(uniqueId('vm-flood'), uniqueId('tenant-flood'));
      victim = await api.register(uniqueId('vm-victim'), uniqueId('tenant-victim'));
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await operator?.close();
    await redis?.stop();
  });

  /** `count` calls of `make` sent at once; their statuses and bodies. */
  const burst = <T>(count: number, make: () => Promise<{ status: number; body: T }>) =>
    Promise.all(Array.from({ length: count }, make));

  it("refuses a tenant's calls past its turn and its waiting places (429 naming the settings), never another's", async () => {
    const flood = burst(64, () => api.call<ErrorReply>('GET', '/circuits', { token: flooder.credentials.token }));
    const during = burst(3, () => api.call('GET', '/circuits', { token: victim.credentials.token }));
    const admin = api.call('GET', '/vms', { token: TEST_ADMIN_TOKEN });
    const floodAnswers = await flood;
    const refused = floodAnswers.filter((answer) => answer.status === 429);
    assert.ok(refused.length > 0, 'a flood of 64 at once overflows 1 running and 2 waiting');
    assert.deepEqual(new Set(floodAnswers.map((answer) => answer.status)), new Set([200, 429]));
    assert.equal(refused[0]?.body.error.code, 'QUOTA_EXCEEDED');
    assert.equal(refused[0]?.body.error.retriable, true);
    assert.match(
      refused[0]?.body.error.message ?? '',
      /TENANT_OPERATOR_CALLS_IN_FLIGHT, TENANT_OPERATOR_CALLS_WAITING/,
    );
    assert.ok(!(refused[0]?.body.error.message ?? '').includes(flooder.credentials.token), 'no token echoed');
    assert.deepEqual(
      (await during).map((answer) => answer.status),
      [200, 200, 200],
      "the other tenant's calls at the same moment: held in its own turn, never refused",
    );
    assert.equal((await admin).status, 200, 'the admin token takes no turn');
    // Every place was given back: the flooder's calls are answered one after another again.
    for (let i = 0; i < 4; i++) {
      assert.equal((await api.call('GET', '/circuits', { token: flooder.credentials.token })).status, 200);
    }
  });

  it('puts made-up tokens in the turn of the address they come from, and the known tenants go on', async () => {
    const made = burst(64, () =>
      api.call('POST', '/circuits', { body: { target: 'x/y' }, token: randomBytes(32).toString('hex') }),
    );
    const during = burst(3, () => api.call('GET', '/circuits', { token: victim.credentials.token }));
    const statuses = new Set((await made).map((answer) => answer.status));
    assert.ok(statuses.has(429), 'the address overflowed its waiting places');
    assert.deepEqual(
      [...statuses].filter((status) => status !== 403 && status !== 429),
      [],
    );
    assert.deepEqual(
      (await during).map((answer) => answer.status),
      [200, 200, 200],
    );
  });

  it("takes a registration with its tenant's secret in that tenant's turn, while made-up tokens overflow their address's", async () => {
    // Locally every VM calls from 127.0.0.1: a registration waiting in the address's turn would share it with the flood.
    const made = burst(64, () => api.call('GET', '/circuits', { token: randomBytes(32).toString('hex') }));
    const registrations = burst(3, () =>
      api.call('POST', '/vms', {
        body: { id: uniqueId('vm-joining'), tenant: victim.tenant, url: 'http://127.0.0.1:1/joining' },
        tenantSecret: harnessTenantSecret(victim.tenant),
      }),
    );
    assert.ok(
      new Set((await made).map((answer) => answer.status)).has(429),
      'the address overflowed its waiting places',
    );
    assert.deepEqual(
      (await registrations).map((answer) => answer.status),
      [201, 201, 201],
    );
  });

  it("knows every registered VM's tenant from its start: after an operator restart, VMs keep their tenants' turns", async () => {
    const restarted = await startOperator(redis.url, {
      TENANT_OPERATOR_CALLS_IN_FLIGHT: '1',
      TENANT_OPERATOR_CALLS_WAITING: '2',
    });
    try {
      const fresh = new OperatorApi(restarted.url);
      const made = burst(64, () => fresh.call('GET', '/circuits', { token: randomBytes(32).toString('hex') }));
      // Before any call of the victim's has been authenticated by this operator.
      const heartbeats = burst(3, () =>
        fresh.call('POST', `/vms/${victim.id}/heartbeat`, { token: victim.credentials.token }),
      );
      assert.ok(
        new Set((await made).map((answer) => answer.status)).has(429),
        'the address overflowed its waiting places',
      );
      assert.deepEqual(
        (await heartbeats).map((answer) => answer.status),
        [204, 204, 204],
      );
    } finally {
      await restarted.close();
    }
  });

  it("holds a VM's registration and heartbeat in its turn like any other call, and answers them", async () => {
    const vm = await api.register(uniqueId('vm-late'), uniqueId('tenant-late'));
    assert.equal(await api.heartbeat(vm), 204);
    const listed = await api.call<{ vms: { id: string }[] }>('GET', '/vms', { token: vm.credentials.token });
    assert.deepEqual(
      listed.body.vms.map((entry) => entry.id),
      [vm.id],
    );
  });
});
