import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import { CIRCUIT_KEYS, REDIS_KEYS, vmAclUser } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import {
  connectAsVm,
  eventually,
  keepAlive,
  OperatorApi,
  type OperatorUnderTest,
  readInbox,
  redisError,
  startOperator,
  harnessTenantSecret,
  TEST_ADMIN_TOKEN,
  uniqueId,
} from '../testing/operator-harness';

const LEASE_MS = 1500;

describe('circuit lifecycle on a real Redis: leases, deregistration, operator restarts', () => {
  let redis: TestRedis;
  let admin: Redis;
  const operators: OperatorUnderTest[] = [];
  const connections: Redis[] = [];

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    for (const connection of connections) connection.disconnect();
    for (const operator of operators) await operator.close();
    admin?.disconnect();
    await redis?.stop();
  });

  async function operatorWith(env: Record<string, string>): Promise<OperatorUnderTest> {
    const operator = await startOperator(redis.url, env);
    operators.push(operator);
    return operator;
  }

  /** Whether the VM's ACL user may read this circuit's control hash; undefined when it has no user at all. */
  async function grantsCircuit(vm: string, circuitId: string): Promise<boolean | undefined> {
    const users = (await admin.call('ACL', 'USERS')) as string[];
    if (!users.includes(vmAclUser(vm))) return undefined;
    return (await admin.call('ACL', 'DRYRUN', vmAclUser(vm), 'EXISTS', CIRCUIT_KEYS.control(circuitId))) === 'OK';
  }

  function circuitKeys(id: string): string[] {
    return [CIRCUIT_KEYS.control(id), CIRCUIT_KEYS.ring(id, 'a2b'), CIRCUIT_KEYS.ring(id, 'b2a')];
  }

  it('tears the circuits of a VM that stops heartbeating down once, with two operators reaping at once', async () => {
    const env = { VM_LEASE_MS: String(LEASE_MS), CIRCUIT_REAP_INTERVAL_MS: '200' };
    const api = new OperatorApi((await operatorWith(env)).url);
    // A second operator on the same Redis: its reaper races the first one's for the same circuits.
    await operatorWith(env);
    const tenant = uniqueId('tenant');
    const listener = await api.register(uniqueId('vm'), tenant);
    const silent = await api.register(uniqueId('vm'), tenant);
    const pump = keepAlive(api, [listener]);
    try {
      const service = uniqueId('svc');
      await api.listen(listener, service);
      const circuit = await api.connect(silent, service);
      assert.equal(await admin.exists(...circuitKeys(circuit.id)), 3);

      // `silent` never heartbeats: its lease runs out LEASE_MS after it registered.
      const closed = await eventually('circuit.closed in the live peer inbox', 10 * LEASE_MS, async () => {
        const inbox = await readInbox(admin, listener.id);
        return inbox.some((entry) => entry.message['type'] === 'circuit.closed') ? inbox : undefined;
      });
      // Exactly once, though both operators' reapers saw it: only the one whose teardown deleted the record tells.
      assert.deepEqual(
        closed.filter((entry) => entry.message['type'] === 'circuit.closed').map((entry) => entry.message),
        [{ type: 'circuit.closed', circuitId: circuit.id, reason: `peer ${silent.id} stopped heartbeating` }],
      );
      assert.equal(await admin.exists(...circuitKeys(circuit.id)), 0, 'keys gone');
      assert.equal(await admin.exists(REDIS_KEYS.circuit(circuit.id)), 0, 'record gone');
      assert.equal(await admin.sismember(REDIS_KEYS.circuitIndex, circuit.id), 0, 'not indexed');
      for (const vm of [listener, silent]) {
        assert.ok(!(await grantsCircuit(vm.id, circuit.id)), `${vm.id}'s grant gone`);
      }
      assert.deepEqual(await api.circuitsOf(listener), []);
    } finally {
      pump.stop();
    }
  });

  it('ends the circuits of a deregistered VM, tells the peer, and deletes its Redis user', async () => {
    const operator = await operatorWith({ VM_LEASE_MS: '60000' });
    const api = new OperatorApi(operator.url);
    const tenant = uniqueId('tenant');
    const listener = await api.register(uniqueId('vm'), tenant);
    const leaving = await api.register(uniqueId('vm'), tenant);
    const service = uniqueId('svc');
    await api.listen(leaving, service);
    const circuit = await api.connect(listener, service);
    const connection = connectAsVm(redis.anonymousUrl, leaving);
    connections.push(connection);
    assert.equal(await connection.ping(), 'PONG');

    const { status } = await api.call('DELETE', `/vms/${leaving.id}`, { token: leaving.credentials.token });
    assert.equal(status, 204);
    assert.equal(await admin.exists(...circuitKeys(circuit.id)), 0);
    assert.deepEqual((await readInbox(admin, listener.id)).map((entry) => entry.message).at(-1), {
      type: 'circuit.closed',
      circuitId: circuit.id,
      reason: `peer ${leaving.id} was deregistered`,
    });
    assert.equal(await grantsCircuit(leaving.id, 'any'), undefined, 'ACL user deleted');
    assert.equal(await admin.hget(REDIS_KEYS.serviceListeners(service), tenant), null, 'its listener is gone');
    assert.deepEqual(await admin.smembers(REDIS_KEYS.vmListeners(leaving.id)), []);
    // Deleting the user closed its connections; a new one cannot authenticate.
    const retry = connectAsVm(redis.anonymousUrl, leaving);
    connections.push(retry);
    assert.match(await redisError(retry.ping()), /WRONGPASS|NOAUTH|closed/i);
  });

  it('lets the same tenant claim an id whose lease expired, ending the old holder’s circuits and listeners', async () => {
    // What ends the old holder's circuit here must be the claim, not a reaper: the earlier tests' operators reap on
    // the same Redis, so they stop first, and this one's reaper is slowed right down.
    for (const operator of operators.splice(0)) await operator.close();
    const api = new OperatorApi(
      (await operatorWith({ VM_LEASE_MS: String(LEASE_MS), CIRCUIT_REAP_INTERVAL_MS: '3600000' })).url,
    );
    const tenant = uniqueId('tenant');
    const peer = await api.register(uniqueId('vm'), tenant);
    const old = await api.register(uniqueId('vm'), tenant);
    const pump = keepAlive(api, [peer]);
    try {
      const service = uniqueId('svc');
      await api.listen(old, service);
      const circuit = await api.connect(peer, service);
      const claim = { id: old.id, tenant, url: `http://127.0.0.1:1/${old.id}-new` };
      // While the lease is alive, registering without the current token is a conflict.
      const tenantSecret = harnessTenantSecret(tenant);
      assert.equal((await api.call('POST', '/vms', { body: claim, tenantSecret })).status, 409);
      await eventually(`${old.id}'s lease to expire`, 10 * LEASE_MS, async () => {
        const { body } = await api.call<{ alive: boolean }>('GET', `/vms/${old.id}`, { token: TEST_ADMIN_TOKEN });
        return body.alive ? undefined : true;
      });
      // Another tenant still may not take it, even with its own secret; the same tenant may, without the old token
      // but only with its tenant's enrollment secret.
      const other = { ...claim, tenant: uniqueId('tenant') };
      await api.declareTenant(other.tenant);
      const otherSecret = harnessTenantSecret(other.tenant);
      assert.equal((await api.call('POST', '/vms', { body: other, tenantSecret: otherSecret })).status, 409);
      assert.equal((await api.call('POST', '/vms', { body: claim, tenantSecret: otherSecret })).status, 403);
      assert.equal((await api.call('POST', '/vms', { body: claim })).status, 403);
      const claimed = await api.call<{ alive: boolean; credentials: { token: string } }>('POST', '/vms', {
        body: claim,
        tenantSecret,
      });
      assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
      assert.equal(claimed.body.alive, true);
      assert.notEqual(claimed.body.credentials.token, old.credentials.token);
      assert.equal(await api.heartbeat(old), 403, 'the old token no longer works');

      assert.equal(await admin.exists(...circuitKeys(circuit.id)), 0, 'the old holder’s circuit keys are gone');
      assert.deepEqual(await api.circuitsOf(peer), []);
      assert.deepEqual(
        (await readInbox(admin, peer.id))
          .map((entry) => entry.message)
          .filter((message) => message['type'] === 'circuit.closed'),
        [{ type: 'circuit.closed', circuitId: circuit.id, reason: `peer ${old.id} registered again` }],
      );
      const listeners = await api.call<{ listeners: unknown[] }>('GET', '/listeners', {
        token: claimed.body.credentials.token,
      });
      assert.deepEqual([listeners.status, listeners.body.listeners], [200, []], 'its listener ended too');
      assert.equal(await admin.hget(REDIS_KEYS.serviceListeners(service), tenant), null);
    } finally {
      pump.stop();
    }
  });

  it('keeps circuits, keys and grants across an operator restart, and finishes what the old one left', async () => {
    const env = { VM_LEASE_MS: '5000', CIRCUIT_REAP_INTERVAL_MS: '200' };
    const before = await operatorWith(env);
    const api = new OperatorApi(before.url);
    const tenant = uniqueId('tenant');
    const server = await api.register(uniqueId('vm'), tenant);
    const client = await api.register(uniqueId('vm'), tenant);
    const doomed = await api.register(uniqueId('vm'), tenant);
    // Follows api.url, so the VMs keep heartbeating to whichever operator runs.
    const pump = keepAlive(api, [server, client, doomed]);
    try {
      const service = uniqueId('svc');
      await api.listen(server, service);
      const circuit = await api.connect(client, service);
      const canary = await api.connect(doomed, service);
      const writer = connectAsVm(redis.anonymousUrl, client);
      connections.push(writer);
      await writer.xadd(CIRCUIT_KEYS.ring(circuit.id, 'a2b'), '*', 'data', 'before restart');

      await before.close();
      // As if the old operator died halfway through deregistering `doomed`: its record is gone, its circuit is not.
      await admin.multi().del(REDIS_KEYS.vm(doomed.id)).zrem(REDIS_KEYS.vmIndex, doomed.id).exec();
      const restarted = await operatorWith(env);
      api.url = restarted.url;

      // The new operator's reaper has walked every circuit once it has ended the canary's. Telling the peer is the
      // last step of a teardown (after its keys are deleted), so that is what to wait for.
      const notice = await eventually("the new operator's reaper ending the orphaned circuit", 10_000, async () => {
        const last = (await readInbox(admin, server.id)).map((entry) => entry.message).at(-1);
        return last?.type === 'circuit.closed' ? last : undefined;
      });
      assert.deepEqual(notice, {
        type: 'circuit.closed',
        circuitId: canary.id,
        reason: `peer ${doomed.id} was deregistered`,
      });
      assert.equal(await admin.exists(CIRCUIT_KEYS.control(canary.id)), 0);

      assert.deepEqual(
        (await api.circuitsOf(client)).map((c) => c.id),
        [circuit.id],
      );
      assert.equal(await admin.exists(...circuitKeys(circuit.id)), 3);
      for (const vm of [server, client]) {
        assert.ok(await grantsCircuit(vm.id, circuit.id), `${vm.id}'s grant`);
      }
      // The connection made before the restart still works.
      await writer.xadd(CIRCUIT_KEYS.ring(circuit.id, 'a2b'), '*', 'data', 'after restart');
      assert.equal(await admin.xlen(CIRCUIT_KEYS.ring(circuit.id, 'a2b')), 2);
      // The new operator can also end what the old one set up.
      const closed = await api.call('DELETE', `/circuits/${circuit.id}`, { token: server.credentials.token });
      assert.equal(closed.status, 204);
      assert.equal(await admin.exists(...circuitKeys(circuit.id)), 0);
    } finally {
      pump.stop();
    }
  });
});
