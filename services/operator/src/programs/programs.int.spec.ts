import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  freeLoopbackPort,
  type ServiceProcess,
  startServiceProcess,
  startTestRedis,
  type TestRedis,
  testAdminHeaders,
} from '@tenantlab/lab';
import {
  buildFrame,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  REDIS_KEYS,
  requestJson,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import {
  type ErrorReply,
  eventually,
  OperatorApi,
  type OperatorUnderTest,
  startOperator,
  type TestVm,
  uniqueId,
} from '../testing/operator-harness';

const REPO_ROOT = join(__dirname, '..', '..', '..', '..');

/** programs/flow-counters.json plus an action forwarding to `forwardTo`: the allocator checks that it is the tenant's. */
function flowCounters(forwardTo: string): Record<string, unknown> {
  const program = JSON.parse(readFileSync(join(REPO_ROOT, 'programs', 'flow-counters.json'), 'utf8')) as {
    actions: unknown[];
    tables: { actions: string[] }[];
  } & Record<string, unknown>;
  delete program['$schema'];
  program.actions.push({ name: 'to_vm', ops: [{ op: 'forward', to: forwardTo }] });
  program.tables[0].actions.push('to_vm');
  return program;
}

describe('tenant programs through the operator, with the real allocator and switch on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let allocator: ServiceProcess | undefined;
  let switchProcess: ServiceProcess | undefined;
  const operators: OperatorUnderTest[] = [];
  let api: OperatorApi;
  let a1: TestVm;
  let a2: TestVm;
  let b1: TestVm;

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
      // Nothing listens on the Kafka port: the allocator and the switch are not ready without Kafka, but their APIs
      // and the switch's data path work, which is all these tests use.
      const kafka = `127.0.0.1:${await freeLoopbackPort()}`;
      allocator = await startServiceProcess('allocator', { REDIS_URL: redis.url, KAFKA_BROKERS: kafka });
      switchProcess = await startServiceProcess('switch', {
        REDIS_URL: redis.url,
        KAFKA_BROKERS: kafka,
        PORT_SCAN_INTERVAL_MS: '100',
        TRACE_SAMPLING_RATE: '0',
      });
      const operator = await startOperator(redis.url, {
        ALLOCATOR_URL: allocator.url,
        SWITCH_URL: switchProcess.url,
        // The switch must keep the VMs' ports for the whole file: no heartbeats here.
        VM_LEASE_MS: '600000',
      });
      operators.push(operator);
      api = new OperatorApi(operator.url);
      const tenantA = uniqueId('tenant-a');
      const tenantB = uniqueId('tenant-b');
      a1 = await api.register(uniqueId('vm-a1'), tenantA);
      a2 = await api.register(uniqueId('vm-a2'), tenantA);
      b1 = await api.register(uniqueId('vm-b1'), tenantB);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    for (const operator of operators) await operator.close();
    await allocator?.stop();
    await switchProcess?.stop();
    admin?.disconnect();
    await redis?.stop();
  });

  function call<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, vm: TestVm | undefined, body?: unknown) {
    const headers: Record<string, string> = vm ? { authorization: `Bearer ${vm.credentials.token}` } : {};
    return requestJson<T>(method, `${api.url}${path}`, body, 10_000, headers);
  }

  it("refuses a tenant's calls past its call budget with 429 and Retry-After, never forwarded; others' still pass", async () => {
    const tight = await startOperator(redis.url, {
      ALLOCATOR_URL: allocator?.url ?? '',
      SWITCH_URL: switchProcess?.url ?? '',
      VM_LEASE_MS: '600000',
      TENANT_CONTROL_CALLS_PER_SECOND: '1',
      TENANT_CONTROL_CALLS_BURST: '3',
    });
    operators.push(tight);
    const tightApi = new OperatorApi(tight.url);
    const greedy = await tightApi.register(uniqueId('vm-g1'), uniqueId('tenant-g'));
    const other = await tightApi.register(uniqueId('vm-o1'), uniqueId('tenant-o'));
    const ports = (vm: TestVm) =>
      fetch(`${tight.url}/program/ports`, { headers: { authorization: `Bearer ${vm.credentials.token}` } });
    // Four at once (fetch, for the headers): the burst admits three whatever the machine's pace, the fourth is refused.
    const answers = await Promise.all(Array.from({ length: 4 }, () => ports(greedy)));
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 200, 200, 429]);
    const refused = answers.find((answer) => answer.status === 429);
    assert.equal(refused?.headers.get('retry-after'), '1');
    const { error } = (await refused?.json()) as ErrorReply;
    assert.equal(error.code, 'QUOTA_EXCEEDED');
    assert.equal(error.retriable, true);
    assert.match(error.message, /is over its budget of calls to the switch, allocator and telemetry/);
    assert.equal((await ports(other)).status, 200, "another tenant's budget is its own");
    // Over its budget, a known tenant's calls are refused before they are authenticated: no token lookup in Redis.
    const monitor = await admin.monitor();
    const tokenLookups: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'get' && args[1]?.startsWith('registry:{vms}:token:')) tokenLookups.push(args[1]);
    });
    try {
      const again = await Promise.all(Array.from({ length: 5 }, () => ports(greedy)));
      const statuses = again.map((answer) => answer.status);
      assert.ok(statuses.includes(429), `still over its budget: ${statuses.join(', ')}`);
      // The other tenant's call authenticates after the five: MONITOR shows commands in the order Redis ran them.
      assert.equal((await ports(other)).status, 200);
      const keyOf = (vm: TestVm) => REDIS_KEYS.vmToken(createHash('sha256').update(vm.credentials.token).digest('hex'));
      await eventually("the other tenant's token lookup on MONITOR", 10_000, () =>
        tokenLookups.includes(keyOf(other)) ? true : undefined,
      );
      assert.equal(
        tokenLookups.filter((key) => key === keyOf(greedy)).length,
        statuses.filter((status) => status !== 429).length,
        'only the calls let through were authenticated',
      );
    } finally {
      monitor.disconnect();
    }
  });

  it("submits the caller tenant's program, shows it to that tenant only, and removes it", async () => {
    const program = flowCounters(a2.id);
    const submitted = await call<{ version: number; pageTable: unknown; resources: { tables: number } }>(
      'PUT',
      '/program',
      a1,
      { program },
    );
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    assert.equal(submitted.body.resources.tables, 1);
    assert.deepEqual(submitted.body.pageTable, {});

    const again = await call('PUT', '/program', a2, { program });
    assert.equal(again.status, 200, 'a second submit replaces the program');

    const shown = await call<{ version: number; program: { name: string }; pageTable: unknown }>('GET', '/program', a1);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.program.name, 'flow_counters');
    assert.ok(shown.body.version >= 2);

    const other = await call<ErrorReply>('GET', '/program', b1);
    assert.equal(other.status, 404, "tenant B must not see tenant A's program");
    assert.equal(other.body.error.code, 'NOT_FOUND');
    assert.match(other.body.error.message, new RegExp(`tenant ${b1.tenant} has no program`));
    assert.equal((await call('DELETE', '/program', b1)).status, 404, "B's DELETE does not reach A's program");

    assert.equal((await call('DELETE', '/program', a1)).status, 204);
    const gone = await call<ErrorReply>('GET', '/program', a1);
    assert.equal(gone.status, 404);
    assert.equal((await call<ErrorReply>('DELETE', '/program', a1)).status, 404);
  });

  it("refuses a program forwarding to another tenant's VM: the VM list is the caller tenant's only", async () => {
    const refused = await call<ErrorReply>('PUT', '/program', b1, { program: flowCounters(a1.id) });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'VALIDATION_FAILED');
    assert.ok(
      refused.body.error.details?.some((d) => d.startsWith('actions[3].ops[0].to:') && d.includes(a1.id)),
      JSON.stringify(refused.body.error.details),
    );
  });

  it("answers an invalid program with the allocator's 400 and its path-qualified details", async () => {
    const program = { ...flowCounters(a1.id), counters: [{ name: 'flows', size: 4096, kind: 'sometimes' }] };
    const refused = await call<ErrorReply>('PUT', '/program', a1, { program });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'VALIDATION_FAILED');
    assert.ok(
      refused.body.error.details?.some((d) => d.startsWith('counters[0].kind:')),
      JSON.stringify(refused.body.error.details),
    );
    const notADocument = await call<ErrorReply>('PUT', '/program', a1, { program: 'flow_counters' });
    assert.equal(notADocument.status, 400);
    assert.ok(notADocument.body.error.details?.some((d) => d.startsWith('program:')));
    assert.equal((await call('PUT', '/program', undefined, { program })).status, 401);
  });

  it("installs entries in the caller tenant's program on the real switch, reads its counters, and passes its errors through", async () => {
    // Tenant B's program, through the allocator, to the switch, which follows the linked pipeline in Redis.
    const submitted = await call<{ version: number }>('PUT', '/program', b1, { program: flowCounters(b1.id) });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const onSwitch = (tenant: string) =>
      requestJson<{ name: string; version: number }>(
        'GET',
        `${switchProcess!.url}/tenants/${tenant}/program`,
        undefined,
        3000,
        testAdminHeaders(),
      );
    await eventually("tenant B's program running on the switch", 15_000, async () =>
      (await onSwitch(b1.tenant)).status === 200 ? true : undefined,
    );
    assert.equal((await onSwitch(a1.tenant)).status, 404, 'tenant A has no program on the switch');

    const entry = {
      key: [
        { value: '0x0a000000', prefixLength: 8 },
        { value: 6, mask: 255 },
      ],
      action: 'count_flow',
      args: { class: 1 },
    };
    const added = await call('POST', '/program/tables/watch/entries', b1, entry);
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(added.body, { table: 'watch', entries: 1 }, "the switch's count of the table's entries");
    const again = await call<ErrorReply>('POST', '/program/tables/watch/entries', b1, entry);
    assert.deepEqual([again.status, again.body.error.code], [409, 'CONFLICT'], 'the switch holds the entry');
    assert.match(again.body.error.message, /already has an entry matching/);
    // The operator puts the caller's tenant in the switch's path: A's request reaches A's (absent) program.
    const fromA = await call<ErrorReply>('POST', '/program/tables/watch/entries', a1, entry);
    assert.deepEqual([fromA.status, fromA.body.error.code], [404, 'NOT_FOUND']);
    assert.match(fromA.body.error.message, new RegExp(`tenant ${a1.tenant} has no program on the switch`));
    const smuggled = await call<ErrorReply>('POST', '/program/tables/watch/entries', a1, {
      ...entry,
      tenant: b1.tenant,
    });
    assert.equal(smuggled.status, 400, 'a tenant in the body is refused, not used');
    assert.ok(smuggled.body.error.details?.some((d) => d.startsWith('tenant:')));

    // A UDP frame from vm-b1 through the switch runs B's program: the table misses (the entry is for TCP), so the
    // default action counts it in class 0, and the operator reads that counter from the switch.
    await eventually("vm-b1's port attached on the switch", 15_000, async () => {
      const { body } = await requestJson<{ ports: { vm: string }[] }>(
        'GET',
        `${switchProcess!.url}/dataplane`,
        undefined,
        3000,
        testAdminHeaders(),
      );
      return body.ports.some((p) => p.vm === b1.id) ? true : undefined;
    });
    const frame = buildFrame({
      srcMac: vmMacAddress(b1.id),
      dstMac: 'ff:ff:ff:ff:ff:ff',
      ipv4: { src: vmIpv4Address(b1.id), dst: '10.1.2.3' },
      udp: { srcPort: 1000, dstPort: 2000 },
      payload: Buffer.alloc(18),
    });
    await admin.xadd(PORT_KEYS.tx(b1.id), '*', PORT_ENTRY_FIELDS.frame, frame);
    const counted = await eventually('the frame counted in class 0', 15_000, async () => {
      const { body } = await call<{ packets: number }>('GET', '/program/counters/classes/0', b1);
      return body.packets > 0 ? body : undefined;
    });
    assert.deepEqual(counted, { counter: 'classes', index: 0, packets: 1, bytes: 0 });
    const flows = await call('GET', '/program/counters/flows/4095', b1);
    assert.equal(flows.status, 200);
    assert.deepEqual(flows.body, { counter: 'flows', index: 4095, packets: 0, bytes: 0 });

    // The switch's refusals, passed through with their status, code and details.
    const badAction = await call<ErrorReply>('POST', '/program/tables/watch/entries', b1, {
      ...entry,
      action: 'no_such_action',
    });
    assert.deepEqual([badAction.status, badAction.body.error.code], [400, 'VALIDATION_FAILED']);
    assert.ok(
      badAction.body.error.details?.some((d) => d.includes('no_such_action')),
      JSON.stringify(badAction.body),
    );
    const missing = await call<ErrorReply>('POST', '/program/tables/missing/entries', b1, entry);
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'NOT_FOUND']);
    assert.match(missing.body.error.message, /program flow_counters has no table missing/);
    const register = await call<ErrorReply>('GET', '/program/registers/seen/7', b1);
    assert.deepEqual([register.status, register.body.error.code], [404, 'NOT_FOUND']);
    assert.match(register.body.error.message, /has no register seen/);

    assert.equal((await call('DELETE', '/program/tables/watch/entries', b1, { key: entry.key })).status, 204);
    const gone = await call<ErrorReply>('DELETE', '/program/tables/watch/entries', b1, { key: entry.key });
    assert.deepEqual([gone.status, gone.body.error.code], [404, 'NOT_FOUND'], 'the switch removed it');
    assert.equal((await call('POST', '/program/tables/watch/entries', b1, entry)).status, 201, 'and can add it again');
  });

  it("shows the caller tenant's VMs with their std.in_port numbers on the switch, no other tenant's", async () => {
    const dataplane = async () =>
      (
        await requestJson<{ ports: { port: number; vm: string }[] }>(
          'GET',
          `${switchProcess!.url}/dataplane`,
          undefined,
          3000,
          testAdminHeaders(),
        )
      ).body.ports;
    const onSwitch = await eventually('the three ports attached on the switch', 15_000, async () => {
      const ports = await dataplane();
      return [a1, a2, b1].every((vm) => ports.some((p) => p.vm === vm.id)) ? ports : undefined;
    });
    const portOf = (vm: TestVm): number | undefined => onSwitch.find((p) => p.vm === vm.id)?.port;
    const shown = await call<{ tenant: string; ports: { vm: string; port: number }[] }>('GET', '/program/ports', a1);
    assert.equal(shown.status, 200, JSON.stringify(shown.body));
    assert.deepEqual(
      shown.body,
      {
        tenant: a1.tenant,
        ports: [a1, a2].map((vm) => ({ vm: vm.id, port: portOf(vm)! })).sort((x, y) => x.port - y.port),
      },
      "tenant A's two VMs with the switch's numbers",
    );
    const fromB = await call<{ ports: { vm: string }[] }>('GET', '/program/ports', b1);
    assert.deepEqual(
      fromB.body.ports.map((p) => p.vm),
      [b1.id],
    );
    assert.equal((await call('GET', '/program/ports', undefined)).status, 401);
  });

  it('checks path params and entry bodies before calling the switch, naming each bad one', async () => {
    // Each refusal names the operator's own checks (the switch words its refusals differently): nothing invalid is
    // passed on.
    const badTable = await call<ErrorReply>('POST', '/program/tables/Watch/entries', a1, {
      key: [{ value: 1 }],
      action: 'x',
    });
    assert.equal(badTable.status, 400);
    assert.deepEqual(badTable.body.error.details, [
      'table: must be 1-32 characters of a-z, 0-9 and _, starting with a letter',
    ]);
    const badIndex = await call<ErrorReply>('GET', '/program/registers/seen/-1', a1);
    assert.deepEqual([badIndex.status, badIndex.body.error.details], [400, ['index: must be a non-negative integer']]);
    const badCounter = await call<ErrorReply>('GET', '/program/counters/9lives/0', a1);
    assert.ok(badCounter.body.error.details?.[0]?.startsWith('counter:'));
    const badBody = await call<ErrorReply>('POST', '/program/tables/watch/entries', a1, {
      key: [{ value: -1 }, { value: 'ten', prefixLength: 200 }],
      action: 'Count',
      priority: 1.5,
    });
    assert.equal(badBody.status, 400);
    const fields = (badBody.body.error.details ?? []).map((d) => d.split(':')[0]).sort();
    assert.deepEqual(fields, ['action', 'key.0.value', 'key.1.prefixLength', 'key.1.value', 'priority']);
    const noKey = await call<ErrorReply>('DELETE', '/program/tables/watch/entries', a1, { key: [] });
    assert.ok(noKey.body.error.details?.some((d) => d.startsWith('key:')));
    const tooLong = await call<ErrorReply>('DELETE', '/program/tables/watch/entries', a1, {
      key: Array.from({ length: 17 }, () => ({ value: 1 })),
    });
    assert.ok(tooLong.body.error.details?.some((d) => d.startsWith('key:')));
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE when the allocator or the switch does not answer', async () => {
    const closedPort = await freeLoopbackPort();
    const operator = await startOperator(redis.url, {
      ALLOCATOR_URL: `http://127.0.0.1:${closedPort}`,
      SWITCH_URL: `http://127.0.0.1:${closedPort}`,
    });
    operators.push(operator);
    const lonely = new OperatorApi(operator.url);
    const vm = await lonely.register(uniqueId('vm'), uniqueId('tenant'));
    const { status, body } = await lonely.call<ErrorReply>('GET', '/program', { token: vm.credentials.token });
    assert.equal(status, 503);
    assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.match(body.error.message, /the allocator did not answer GET \/pipeline/);
    assert.equal(body.error.retriable, true);
    const counter = await lonely.call<ErrorReply>('GET', '/program/counters/flows/0', { token: vm.credentials.token });
    assert.deepEqual([counter.status, counter.body.error.code], [503, 'DEPENDENCY_UNAVAILABLE']);
    assert.match(counter.body.error.message, /the switch did not answer GET/);
  });
});
