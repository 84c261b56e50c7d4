// First: the OpenTelemetry SDK must patch http before the operator loads it (the inbox must carry trace context).
import '../testing/test-telemetry';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  CIRCUIT_KEYS,
  CONTROL_FIELDS,
  DEFAULT_RING_CAPACITY,
  REDIS_KEYS,
  vmAclUser,
  type CircuitDescriptor,
} from '@tenantlab/shared';
import { shutdownTelemetry } from '@tenantlab/shared/telemetry';
import { Redis } from 'ioredis';
import {
  connectAsVm,
  ErrorReply,
  OperatorApi,
  type OperatorUnderTest,
  readInbox,
  startOperator,
  type TestVm,
  harnessTenantSecret,
  uniqueId,
} from '../testing/operator-harness';

const MiB = 1024 * 1024;
const MAX_CIRCUITS_PER_VM = 3;
const TENANT_RING_BYTES = 20 * MiB;
// The one CIRCUIT_POLICY rule: tenant SRC may reach tenant DST's ALLOWED_SERVICE. Unique like every other name.
const SRC = uniqueId('tenant-src');
const DST = uniqueId('tenant-dst');
const ALLOWED_SERVICE = `${uniqueId('db')}:5432`;

describe('the operator as circuit broker, on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let operator: OperatorUnderTest;
  let api: OperatorApi;
  const vmConnections: Redis[] = [];

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
      operator = await startOperator(redis.url, {
        // Long leases: these tests are about setup and refusals; circuit-lifecycle.int.spec.ts covers leases.
        VM_LEASE_MS: '60000',
        CIRCUIT_REAP_INTERVAL_MS: '200',
        CIRCUIT_POLICY: JSON.stringify([{ from: SRC, to: DST, service: ALLOWED_SERVICE }]),
        MAX_CIRCUITS_PER_VM: String(MAX_CIRCUITS_PER_VM),
        TENANT_RING_BYTES: String(TENANT_RING_BYTES),
      });
      api = new OperatorApi(operator.url);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    for (const connection of vmConnections) connection.disconnect();
    await operator?.close();
    admin?.disconnect();
    await redis?.stop();
    // Flushing spans fails when no collector listens (the usual case in tests); that is not this suite's concern.
    await shutdownTelemetry().catch(() => undefined);
  });

  function asVm(vm: TestVm): Redis {
    const connection = connectAsVm(redis.anonymousUrl, vm);
    vmConnections.push(connection);
    return connection;
  }

  /** Whether the VM's ACL user may read this circuit's control hash; undefined when it has no user at all. */
  async function grantsCircuit(vm: string, circuitId: string): Promise<boolean | undefined> {
    const users = (await admin.call('ACL', 'USERS')) as string[];
    if (!users.includes(vmAclUser(vm))) return undefined;
    return (await admin.call('ACL', 'DRYRUN', vmAclUser(vm), 'EXISTS', CIRCUIT_KEYS.control(circuitId))) === 'OK';
  }

  it('connects two VMs of one tenant: descriptors, keys, grants, and the listener told with trace context', async () => {
    const tenant = uniqueId('tenant');
    const client = await api.register(uniqueId('vm'), tenant);
    const server = await api.register(uniqueId('vm'), tenant);
    const service = `${uniqueId('db')}:5432`;
    await api.listen(server, service);

    const a = await api.connect(client, service, { mode: 'datagram' });
    assert.deepEqual(a, {
      id: a.id,
      mode: 'datagram',
      side: 'a',
      service,
      capacity: { ...DEFAULT_RING_CAPACITY },
      local: { vm: client.id, tenant },
      peer: { vm: server.id, tenant },
    });

    assert.deepEqual(await admin.hgetall(CIRCUIT_KEYS.control(a.id)), {
      [CONTROL_FIELDS.mode]: 'datagram',
      [CONTROL_FIELDS.capacityEntries]: String(DEFAULT_RING_CAPACITY.entries),
      [CONTROL_FIELDS.capacityBytes]: String(DEFAULT_RING_CAPACITY.bytes),
      [CONTROL_FIELDS.vmA]: client.id,
      [CONTROL_FIELDS.vmB]: server.id,
    });
    for (const direction of ['a2b', 'b2a'] as const) {
      const ring = CIRCUIT_KEYS.ring(a.id, direction);
      assert.equal(await admin.type(ring), 'stream', `${direction} exists as a stream`);
      assert.equal(await admin.xlen(ring), 0, `${direction} is empty`);
    }
    for (const vm of [client, server]) {
      assert.ok(await grantsCircuit(vm.id, a.id), `${vm.id} holds the grant`);
    }

    const inbox = await readInbox(admin, server.id);
    assert.equal(inbox.length, 1);
    const expectedB: CircuitDescriptor = { ...a, side: 'b', local: a.peer, peer: a.local };
    assert.deepEqual(inbox[0].message, { type: 'circuit.incoming', circuit: expectedB });
    assert.match(inbox[0].fields['otel.traceparent'] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/);

    assert.deepEqual(await api.circuitsOf(server), [expectedB]);
    assert.deepEqual(await api.circuitsOf(client), [a]);
  });

  it('refuses another tenant without a rule, allows the service a rule names, and still refuses the others', async () => {
    const target = await api.register(uniqueId('vm'), DST);
    const otherService = `${uniqueId('cache')}:6379`;
    await api.listen(target, ALLOWED_SERVICE);
    await api.listen(target, otherService);
    const stranger = await api.register(uniqueId('vm'), uniqueId('tenant'));
    const allowed = await api.register(uniqueId('vm'), SRC);

    const denied = await api.call<ErrorReply>('POST', '/circuits', {
      body: { target: ALLOWED_SERVICE, mode: 'stream' },
      token: stranger.credentials.token,
    });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'POLICY_DENIED');
    assert.ok(
      denied.body.error.message.includes(
        `${stranger.tenant} may not connect to ${DST}'s service ${ALLOWED_SERVICE}: no rule allows it`,
      ),
      denied.body.error.message,
    );

    const circuit = await api.connect(allowed, ALLOWED_SERVICE);
    assert.deepEqual(circuit.peer, { vm: target.id, tenant: DST });

    for (const refused of [otherService, `${target.id}/${otherService}`]) {
      const { status, body } = await api.call<ErrorReply>('POST', '/circuits', {
        body: { target: refused, mode: 'stream' },
        token: allowed.credentials.token,
      });
      assert.equal(status, 403, refused);
      assert.equal(body.error.code, 'POLICY_DENIED');
      assert.ok(body.error.message.includes(`${SRC} may not connect to ${DST}'s service ${otherService}`));
    }
    // Refusals leave nothing behind: the one allowed circuit is all either VM has.
    assert.deepEqual(await admin.smembers(REDIS_KEYS.vmCircuits(allowed.id)), [circuit.id]);
    assert.deepEqual(await admin.smembers(REDIS_KEYS.vmCircuits(stranger.id)), []);
  });

  it('answers malformed and unauthorised requests with the right status and code', async () => {
    const tenant = uniqueId('tenant');
    const first = await api.register(uniqueId('vm'), tenant);
    const second = await api.register(uniqueId('vm'), tenant);
    const outsider = await api.register(uniqueId('vm'), uniqueId('tenant'));
    const service = uniqueId('svc');
    await api.listen(first, service);
    const circuit = await api.connect(second, service);

    const duplicate = await api.call<ErrorReply>('POST', '/listeners', {
      body: { service },
      token: second.credentials.token,
    });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.error.code, 'CONFLICT');
    assert.ok(duplicate.body.error.message.includes(`by VM ${first.id}`), duplicate.body.error.message);

    const unknown = await api.call<ErrorReply>('POST', '/circuits', {
      body: { target: uniqueId('nothing'), mode: 'stream' },
      token: first.credentials.token,
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'NOT_FOUND');
    assert.match(unknown.body.error.message, /no VM listens on service/);

    const malformed = await api.call<ErrorReply>('POST', '/circuits', {
      body: { target: 'Not A Target!', mode: 'tcp', capacity: { entries: 0, bytes: 100 }, priority: 1 },
      token: first.credentials.token,
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'VALIDATION_FAILED');
    const details = malformed.body.error.details ?? [];
    for (const field of ['target:', 'mode:', 'capacity.entries:', 'capacity.bytes:']) {
      assert.ok(
        details.some((d) => d.startsWith(field)),
        `${field} in ${JSON.stringify(details)}`,
      );
    }
    assert.ok(details.some((d) => d.includes('priority')));
    const badListen = await api.call<ErrorReply>('POST', '/listeners', {
      body: { service: 'no spaces/allowed' },
      token: first.credentials.token,
    });
    assert.equal(badListen.status, 400);
    assert.ok(badListen.body.error.details?.some((d) => d.startsWith('service:')));

    const calls: [method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown][] = [
      ['GET', '/circuits'],
      ['POST', '/circuits', { target: service, mode: 'stream' }],
      ['GET', '/listeners'],
      ['POST', '/listeners', { service: uniqueId('svc') }],
      ['DELETE', `/circuits/${circuit.id}`],
      ['POST', `/vms/${first.id}/heartbeat`],
      ['DELETE', `/vms/${first.id}`],
    ];
    for (const [method, path, body] of calls) {
      const missing = await api.call<ErrorReply>(method, path, { body });
      assert.equal(missing.status, 401, `${method} ${path} without a token`);
      assert.equal(missing.body.error.code, 'UNAUTHENTICATED');
      const wrong = await api.call<ErrorReply>(method, path, { body, token: 'f'.repeat(64) });
      assert.equal(wrong.status, 403, `${method} ${path} with a wrong token`);
      assert.equal(wrong.body.error.code, 'FORBIDDEN');
    }
    // A real token, but another VM's.
    const hijack = await api.call<ErrorReply>('POST', `/vms/${first.id}/heartbeat`, {
      token: second.credentials.token,
    });
    assert.equal(hijack.status, 403);

    const notYours = await api.call<ErrorReply>('DELETE', `/circuits/${circuit.id}`, {
      token: outsider.credentials.token,
    });
    assert.equal(notYours.status, 404, 'not 403: ids must not leak');
    assert.equal(notYours.body.error.code, 'NOT_FOUND');
    assert.equal(await admin.exists(CIRCUIT_KEYS.control(circuit.id)), 1, 'the circuit survived');
    assert.equal((await api.call('DELETE', `/circuits/${circuit.id}`, { token: first.credentials.token })).status, 204);
    assert.equal(await admin.exists(CIRCUIT_KEYS.control(circuit.id)), 0);
  });

  it('lists, adds and removes listeners; a removed listener leaves its open circuits alone', async () => {
    const tenant = uniqueId('tenant');
    const server = await api.register(uniqueId('vm'), tenant);
    const client = await api.register(uniqueId('vm'), tenant);
    const other = await api.register(uniqueId('vm'), tenant);
    const service = `${uniqueId('db')}.x_y:5432`;
    const added = await api.call('POST', '/listeners', { body: { service }, token: server.credentials.token });
    assert.deepEqual([added.status, added.body], [201, { vm: server.id, tenant, service }]);
    await api.listen(other, uniqueId('svc'));
    const listed = await api.call<{ listeners: { service: string }[] }>('GET', '/listeners', {
      token: server.credentials.token,
    });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.listeners.map((l) => l.service),
      [service],
      "the caller's listeners only",
    );
    const circuit = await api.connect(client, service);
    const removed = await api.call('DELETE', `/listeners/${encodeURIComponent(service)}`, {
      token: server.credentials.token,
    });
    assert.equal(removed.status, 204);
    assert.deepEqual(
      (await api.circuitsOf(server)).map((c) => c.id),
      [circuit.id],
      'the open circuit stays',
    );
    assert.equal(await admin.exists(CIRCUIT_KEYS.control(circuit.id)), 1);
    const gone = await api.call<ErrorReply>('POST', '/circuits', {
      body: { target: service, mode: 'stream' },
      token: client.credentials.token,
    });
    assert.equal(gone.status, 404, 'nobody listens any more');
    const tooLong = await api.call<ErrorReply>('POST', '/listeners', {
      body: { service: 'a'.repeat(101) },
      token: server.credentials.token,
    });
    assert.equal(tooLong.status, 400);
    const longest = await api.call('POST', '/listeners', {
      body: { service: 'a'.repeat(100) },
      token: server.credentials.token,
    });
    assert.equal(longest.status, 201);
  });

  it('lets a VM listen on at most 64 services (MAX_LISTENERS_PER_VM), writing nothing for one past it', async () => {
    const vm = await api.register(uniqueId('vm'), uniqueId('tenant'));
    const names = Array.from({ length: 65 }, (_, i) => `${uniqueId('svc')}-${i}`);
    const answers = [];
    for (const service of names) {
      answers.push(
        await api.call<ErrorReply>('POST', '/listeners', { body: { service }, token: vm.credentials.token }),
      );
    }
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [...names.slice(0, 64).map(() => 201), 429],
    );
    assert.equal(answers[64].body.error.code, 'QUOTA_EXCEEDED');
    assert.match(
      answers[64].body.error.message,
      /^quota MAX_LISTENERS_PER_VM exceeded: VM \S+ listens on 64 services, at most 64;/,
    );
    assert.equal(await admin.exists(REDIS_KEYS.serviceListeners(names[64])), 0, 'no key for the refused name');
    assert.equal(await admin.scard(REDIS_KEYS.vmListeners(vm.id)), 64);
    const again = await api.call('POST', '/listeners', { body: { service: names[0] }, token: vm.credentials.token });
    assert.equal(again.status, 201, 'a name it holds, asked again at its most');
  });

  it('takes ring capacities of 1-65536 entries and 1 KiB-64 MiB, 4096 entries and 4 MiB by default', async () => {
    const tenant = uniqueId('tenant');
    const server = await api.register(uniqueId('vm'), tenant);
    const client = await api.register(uniqueId('vm'), tenant);
    const service = uniqueId('svc');
    await api.listen(server, service);
    assert.deepEqual(DEFAULT_RING_CAPACITY, { entries: 4096, bytes: 4 * MiB });
    const plain = await api.connect(client, service);
    assert.deepEqual(plain.capacity, { entries: 4096, bytes: 4 * MiB });
    await api.call('DELETE', `/circuits/${plain.id}`, { token: client.credentials.token });
    for (const [capacity, field] of [
      [{ entries: 0, bytes: 1024 }, 'capacity.entries'],
      [{ entries: 65_537, bytes: 1024 }, 'capacity.entries'],
      [{ entries: 1, bytes: 1023 }, 'capacity.bytes'],
      [{ entries: 1, bytes: 64 * MiB + 1 }, 'capacity.bytes'],
    ] as const) {
      const refused = await api.call<ErrorReply>('POST', '/circuits', {
        body: { target: service, mode: 'stream', capacity },
        token: client.credentials.token,
      });
      assert.equal(refused.status, 400, JSON.stringify(capacity));
      assert.ok(
        refused.body.error.details?.some((d) => d.startsWith(`${field}:`)),
        JSON.stringify(refused.body),
      );
    }
    for (const capacity of [
      { entries: 1, bytes: 1024 },
      { entries: 65_536, bytes: 1024 },
    ]) {
      const circuit = await api.connect(client, service, { capacity });
      assert.deepEqual(circuit.capacity, capacity);
      await api.call('DELETE', `/circuits/${circuit.id}`, { token: client.credentials.token });
    }
  });

  it('lets only the current token re-register a live VM, and rotates its credentials', async () => {
    const vm = await api.register(uniqueId('vm'), uniqueId('tenant'));
    const body = { id: vm.id, tenant: vm.tenant, url: 'http://127.0.0.1:2/' };
    const tenantSecret = harnessTenantSecret(vm.tenant);
    const taken = await api.call<ErrorReply>('POST', '/vms', { body, tenantSecret });
    assert.equal(taken.status, 409);
    assert.match(taken.body.error.message, /taken by a live VM/);
    const again = await api.call<{ credentials: TestVm['credentials'] }>('POST', '/vms', {
      body,
      token: vm.credentials.token,
      tenantSecret,
    });
    assert.equal(again.status, 200);
    assert.notEqual(again.body.credentials.token, vm.credentials.token);
    assert.equal(await api.heartbeat(vm), 403, 'the old token no longer works');
    assert.equal(await api.heartbeat({ ...vm, credentials: again.body.credentials }), 204);
  });

  it('refuses circuits past MAX_CIRCUITS_PER_VM and TENANT_RING_BYTES with 429, and earlier circuits keep working', async () => {
    const tenant = uniqueId('tenant');
    const client = await api.register(uniqueId('vm'), tenant);
    const server = await api.register(uniqueId('vm'), tenant);
    const service = uniqueId('svc');
    await api.listen(server, service);
    const small = { entries: 16, bytes: 1024 };
    const first = await api.connect(client, service, { capacity: small });
    for (let i = 1; i < MAX_CIRCUITS_PER_VM; i++) await api.connect(client, service, { capacity: small });
    const tooMany = await api.call<ErrorReply>('POST', '/circuits', {
      body: { target: service, mode: 'stream', capacity: small },
      token: client.credentials.token,
    });
    assert.equal(tooMany.status, 429);
    assert.equal(tooMany.body.error.code, 'QUOTA_EXCEEDED');
    assert.match(tooMany.body.error.message, /MAX_CIRCUITS_PER_VM/);
    assert.match(tooMany.body.error.message, new RegExp(`has ${MAX_CIRCUITS_PER_VM} circuit endpoint`));
    assert.match(tooMany.body.error.message, new RegExp(`limit is ${MAX_CIRCUITS_PER_VM}`));

    // Ring bytes: inside one tenant a circuit of 4 MiB rings charges 2 endpoints x 2 rings x 4 MiB = 16 MiB.
    const big = { entries: 1024, bytes: 4 * MiB };
    const bytesTenant = uniqueId('tenant');
    const writer = await api.register(uniqueId('vm'), bytesTenant);
    const reader = await api.register(uniqueId('vm'), bytesTenant);
    const bytesService = uniqueId('svc');
    await api.listen(reader, bytesService);
    const held = await api.connect(writer, bytesService, { capacity: big });
    const tooBig = await api.call<ErrorReply>('POST', '/circuits', {
      body: { target: bytesService, mode: 'stream', capacity: big },
      token: writer.credentials.token,
    });
    assert.equal(tooBig.status, 429);
    assert.equal(tooBig.body.error.code, 'QUOTA_EXCEEDED');
    const message = tooBig.body.error.message;
    assert.match(message, /TENANT_RING_BYTES/);
    assert.ok(message.includes(`hold ${16 * MiB} ring bytes`), message);
    assert.ok(message.includes(`limit is ${TENANT_RING_BYTES}`), message);

    // The circuits opened before the refusals still carry data, and are still listed.
    for (const [circuit, a, b] of [
      [first, client, server],
      [held, writer, reader],
    ] as const) {
      const ring = CIRCUIT_KEYS.ring(circuit.id, 'a2b');
      await asVm(a).xadd(ring, '*', 'data', `hello ${circuit.id}`);
      const read = (await asVm(b).xread('STREAMS', ring, '0')) ?? [];
      assert.equal(read[0]?.[1][0]?.[1][1], `hello ${circuit.id}`);
      assert.ok((await api.circuitsOf(a)).some((c) => c.id === circuit.id));
    }

    // Closing a circuit gives its quota back: both refusals turn into circuits.
    for (const [closed, vm, target, capacity] of [
      [first, client, service, small],
      [held, writer, bytesService, big],
    ] as const) {
      assert.equal((await api.call('DELETE', `/circuits/${closed.id}`, { token: vm.credentials.token })).status, 204);
      await api.connect(vm, target, { capacity });
    }
    assert.equal(
      await admin.hget(REDIS_KEYS.circuitUsage, `MAX_CIRCUITS_PER_VM:${client.id}`),
      String(MAX_CIRCUITS_PER_VM),
      'use counts live circuits only',
    );
  });
});
