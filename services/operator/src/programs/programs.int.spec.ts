import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, startTestRedis, type TestRedis } from '@tenantlab/lab';
import { requestJson } from '@tenantlab/shared';
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

/** The real allocator, from its build, as its own process (it has no public index to import its module from). */
async function startAllocator(redisUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'services', 'allocator', 'dist', 'main.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Nothing listens there: the allocator is not ready without Kafka, but its API works, which is all these use.
      KAFKA_BROKERS: '127.0.0.1:1',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  };
  try {
    await eventually('the allocator answering GET /health', 30_000, async () => {
      if (child.exitCode !== null) throw new Error(`the allocator exited with ${child.exitCode}: ${stderr}`);
      return (await requestJson('GET', `${url}/health`, undefined, 1000)).status === 200 ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

interface SwitchRequest {
  method: string;
  path: string;
  body: unknown;
}

/** Plays the switch's control API contract, recording what the operator asked for. */
async function startFakeSwitch(): Promise<{ url: string; requests: SwitchRequest[]; server: Server }> {
  const requests: SwitchRequest[] = [];
  const readBody = async (request: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  };
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const path = request.url ?? '';
      requests.push({ method: request.method ?? '', path, body });
      const answer = (status: number, reply?: unknown): void => {
        response.writeHead(status, reply === undefined ? {} : { 'content-type': 'application/json' });
        response.end(reply === undefined ? undefined : JSON.stringify(reply));
      };
      const error = (status: number, code: string, message: string, details?: string[]): void =>
        answer(status, { error: { code, message, retriable: false, details } });
      const match = /^\/tenants\/([^/]+)\/(tables|registers|counters)\/([^/]+)(?:\/(entries|\d+))?$/.exec(path);
      if (!match) return error(404, 'NOT_FOUND', `no route ${path}`);
      const [, , kind, name, rest] = match;
      if (name === 'missing') return error(404, 'NOT_FOUND', `table ${name} does not exist in the tenant's program`);
      if (name === 'broken') return error(500, 'INTERNAL', 'internal error; see the service log');
      if (kind === 'tables' && request.method === 'POST') {
        const action = (body as { action?: string }).action;
        if (action === 'bad') {
          return error(400, 'VALIDATION_FAILED', 'entry is invalid', [
            'key[0] (ipv4.dst, lpm): prefixLength must be a whole number from 0 to 32',
          ]);
        }
        if (action === 'full') return error(409, 'CONFLICT', `table ${name} is full (64 entries)`);
        return answer(201, { table: name, entries: 1 });
      }
      if (kind === 'tables' && request.method === 'DELETE') return answer(204);
      if (kind === 'registers')
        return answer(200, { register: name, index: Number(rest), value: (2n ** 128n - 1n).toString() });
      return answer(200, { counter: name, index: Number(rest), packets: 3, bytes: 180 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

describe('tenant programs through the operator, with the real allocator on a real Redis', () => {
  let redis: TestRedis;
  let allocator: { url: string; stop(): Promise<void> } | undefined;
  let fakeSwitch: Awaited<ReturnType<typeof startFakeSwitch>> | undefined;
  const operators: OperatorUnderTest[] = [];
  let api: OperatorApi;
  let a1: TestVm;
  let a2: TestVm;
  let b1: TestVm;

  before(
    async () => {
      redis = await startTestRedis();
      allocator = await startAllocator(redis.url);
      fakeSwitch = await startFakeSwitch();
      const operator = await startOperator(redis.url, { ALLOCATOR_URL: allocator.url, SWITCH_URL: fakeSwitch.url });
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
    await new Promise((resolve) => fakeSwitch?.server.close(resolve) ?? resolve(undefined));
    await redis?.stop();
  });

  function call<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, vm: TestVm | undefined, body?: unknown) {
    const headers: Record<string, string> = vm ? { authorization: `Bearer ${vm.credentials.token}` } : {};
    return requestJson<T>(method, `${api.url}${path}`, body, 10_000, headers);
  }

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

  it("sends the caller's tenant to the switch whatever the body says, and passes the switch's errors through", async () => {
    assert.ok(fakeSwitch);
    fakeSwitch.requests.length = 0;
    const entry = {
      key: [
        { value: '0x0a000000', prefixLength: 8 },
        { value: 6, mask: 255 },
      ],
      action: 'count_flow',
      args: { class: 1 },
    };
    const added = await call('POST', '/program/tables/watch/entries', b1, entry);
    assert.equal(added.status, 201);
    assert.deepEqual(added.body, { table: 'watch', entries: 1 });
    const smuggled = await call<ErrorReply>('POST', '/program/tables/watch/entries', b1, {
      ...entry,
      tenant: a1.tenant,
    });
    assert.equal(smuggled.status, 400, 'a tenant in the body is refused, not used');
    assert.ok(smuggled.body.error.details?.some((d) => d.startsWith('tenant:')));
    assert.equal((await call('DELETE', '/program/tables/watch/entries', b1, { key: entry.key })).status, 204);
    const register = await call('GET', '/program/registers/seen/7', b1);
    assert.deepEqual(register.body, { register: 'seen', index: 7, value: '340282366920938463463374607431768211455' });
    const counter = await call('GET', '/program/counters/flows/4095', b1);
    assert.deepEqual(counter.body, { counter: 'flows', index: 4095, packets: 3, bytes: 180 });
    const tenantPath = `/tenants/${b1.tenant}`;
    assert.deepEqual(fakeSwitch.requests, [
      { method: 'POST', path: `${tenantPath}/tables/watch/entries`, body: entry },
      { method: 'DELETE', path: `${tenantPath}/tables/watch/entries`, body: { key: entry.key } },
      { method: 'GET', path: `${tenantPath}/registers/seen/7`, body: undefined },
      { method: 'GET', path: `${tenantPath}/counters/flows/4095`, body: undefined },
    ]);

    const bad = await call<ErrorReply>('POST', '/program/tables/watch/entries', b1, { ...entry, action: 'bad' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.error.details, [
      'key[0] (ipv4.dst, lpm): prefixLength must be a whole number from 0 to 32',
    ]);
    const full = await call<ErrorReply>('POST', '/program/tables/watch/entries', b1, { ...entry, action: 'full' });
    assert.deepEqual([full.status, full.body.error.code], [409, 'CONFLICT']);
    const missing = await call<ErrorReply>('POST', '/program/tables/missing/entries', b1, entry);
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'NOT_FOUND']);
    assert.match(missing.body.error.message, /table missing does not exist/);
    const broken = await call<ErrorReply>('GET', '/program/counters/broken/0', b1);
    assert.deepEqual([broken.status, broken.body.error.code], [503, 'DEPENDENCY_UNAVAILABLE']);
  });

  it('checks path params and entry bodies before calling the switch, naming each bad one', async () => {
    assert.ok(fakeSwitch);
    fakeSwitch.requests.length = 0;
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
    assert.deepEqual(fakeSwitch.requests, [], 'nothing invalid reached the switch');
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE when the allocator does not answer', async () => {
    const closedPort = await freeLoopbackPort();
    const operator = await startOperator(redis.url, { ALLOCATOR_URL: `http://127.0.0.1:${closedPort}` });
    operators.push(operator);
    const lonely = new OperatorApi(operator.url);
    const vm = await lonely.register(uniqueId('vm'), uniqueId('tenant'));
    const { status, body } = await lonely.call<ErrorReply>('GET', '/program', { token: vm.credentials.token });
    assert.equal(status, 503);
    assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.match(body.error.message, /the allocator did not answer GET \/pipeline/);
    assert.equal(body.error.retriable, true);
  });
});
