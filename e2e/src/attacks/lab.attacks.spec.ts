import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  labDataDir,
  LabState,
  metricsVmScrapeTokenName,
  readLabSecret,
  readLabState,
  readRedisAdminPassword,
  tenantSecretName,
  type TestLab,
  VM_CONTROL_KEY_SECRET,
} from '@tenantlab/lab';
import {
  buildFrame,
  MAX_FRAMES_PER_ENTRY,
  packPortFrames,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  portEntryContent,
  REDIS_KEYS,
  requestJson,
  SWITCH_CONSUMER_GROUP,
  TENANT_CONTROL_CALLS_BURST,
  TENANT_CONTROL_CALLS_PER_SECOND,
  TENANT_PORT_BUDGETS,
  TENANT_SECRET_HEADER,
  TOPICS,
  vmMacAddress,
  vmTraceExportToken,
  withoutCredentials,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import {
  startE2eLab,
  E2E_PORT_OFFSET,
  E2E_PROFILE,
  eventually,
  labAdminRequest,
  REPO_ROOT,
  urlOf,
} from '../lab-process';
import { rxFrameBytes, sequencedFrame } from '../packet-path/port-traffic';
import { findTraces } from '../jaeger-api';
import { otlpExport } from '../otlp-export';
import { AttackTable } from './attack-table';

interface Credentials {
  redisUsername: string;
  redisPassword: string;
  token: string;
}

interface ErrorBody {
  error?: { code: string; message: string };
}

/**
 * A hostile tenant against the default lab, with only what a tenant VM has: a VM of its own (registered as any VM of
 * tenant-a is, with its token and Redis credentials) and the lab's addresses. Every attack must fail, and tenant-b,
 * which behaves, must see its traffic flow throughout. The table of attacks and outcomes is printed at the end.
 */
describe('a hostile tenant against the lab', () => {
  const table = new AttackTable();
  let lab: TestLab;
  let state: LabState;
  let operator: string;
  let mallory: Credentials;
  let malloryRedis: Redis;
  let heartbeat: NodeJS.Timeout | undefined;
  let tenantASecret = '';
  const MALLORY = 'mallory';

  const asMallory = <T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    requestJson<T & ErrorBody>(method, url, body, 10_000, { authorization: `Bearer ${mallory.token}` });
  const refusedWith = (status: number, body: ErrorBody): string =>
    `${status} ${body.error?.code ?? ''}: ${body.error?.message ?? JSON.stringify(body)}`;
  /** Runs each command as Mallory's Redis user and records it in the table: each must be refused with NOPERM. */
  const expectRedisRefusals = async (attempts: readonly (readonly [string, readonly string[]])[]): Promise<void> => {
    for (const [attack, [name = '', ...args]] of attempts) {
      const outcome = await malloryRedis.call(name, ...args).then(
        (reply) => `answered ${JSON.stringify(reply).slice(0, 60)}`,
        (error: Error) => error.message,
      );
      assert.ok(table.record(`Redis: ${attack}`, 'NOPERM', outcome, /^NOPERM/.test(outcome)), `${attack}: ${outcome}`);
    }
  };

  /** VM `from` sends `count` UDP frames to VM `to` (its received count reset first); `to`'s total once all arrived. */
  const framesArrive = async (from: string, to: string, count: number): Promise<number> => {
    const receiver = urlOf(state, to);
    assert.equal((await requestJson('DELETE', `${receiver}/traffic/received`)).status, 204);
    const sent = await requestJson('POST', `${urlOf(state, from)}/traffic/generate`, {
      to: [to],
      protocol: 'udp',
      count,
      size: 128,
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    return eventually(`${count} frames at ${to}`, 30_000, async () => {
      const { body } = await requestJson<{ total: number }>('GET', `${receiver}/traffic/received`);
      return body.total >= count ? body.total : undefined;
    });
  };

  before(async () => {
    // With the lab's Prometheus, whose API (every tenant's series) is one more thing a tenant must not read.
    lab = await startE2eLab({ prometheus: true });
    state = lab.state;
    operator = urlOf(state, 'operator');
    // Mallory is a VM of tenant-a: the lab hands it tenant-a's enrollment secret, as it does every tenant-a VM.
    tenantASecret = readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), tenantSecretName('tenant-a')) ?? '';
    const registered = await requestJson<{ credentials: Credentials }>(
      'POST',
      `${operator}/vms`,
      { id: MALLORY, tenant: 'tenant-a', url: 'http://127.0.0.1:9' },
      10_000,
      { [TENANT_SECRET_HEADER]: tenantASecret },
    );
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    mallory = registered.body.credentials;
    // Alive for the whole suite, so its Redis user stays and every refusal below is the ACL's, not a dead login's.
    heartbeat = setInterval(
      () => void asMallory('POST', `${operator}/vms/${MALLORY}/heartbeat`).catch(() => undefined),
      2_000,
    );
    malloryRedis = new Redis({
      port: 6379 + E2E_PORT_OFFSET,
      host: '127.0.0.1',
      username: mallory.redisUsername,
      password: mallory.redisPassword,
      maxRetriesPerRequest: 1,
      // Its ready check runs INFO, which a VM's user may not.
      enableReadyCheck: false,
    });
    await malloryRedis.ping();
    // tenant-b behaves: an echo service it will use at the end, to show its traffic survived every attack.
    assert.equal(
      (await requestJson('POST', `${urlOf(state, 'vm-b2')}/workloads/echo`, { service: 'echo' })).status,
      201,
    );
  });

  after(async () => {
    clearInterval(heartbeat);
    malloryRedis?.disconnect();
    console.log(`\nAttacks on the lab (${new Date().toISOString()}):\n${table.render()}\n`);
    await lab?.stop();
  });

  it("cannot open a circuit to another tenant's service", async () => {
    const { status, body } = await asMallory('POST', `${operator}/circuits`, { target: 'vm-b2/echo', mode: 'stream' });
    assert.ok(
      table.record('circuit to another tenant', '403 POLICY_DENIED', refusedWith(status, body), status === 403),
    );
    assert.equal(body.error?.code, 'POLICY_DENIED');
  });

  it('cannot take over a live VM of its own tenant, nor move a VM of another tenant into its own', async () => {
    const takeover = await requestJson<ErrorBody>(
      'POST',
      `${operator}/vms`,
      { id: 'vm-a2', tenant: 'tenant-a', url: 'http://127.0.0.1:9' },
      10_000,
      // With tenant-a's secret, which Mallory holds: the id itself must be the wall.
      { [TENANT_SECRET_HEADER]: tenantASecret },
    );
    assert.ok(
      table.record(
        'take over live vm-a2 (same tenant)',
        '409',
        refusedWith(takeover.status, takeover.body),
        takeover.status === 409,
      ),
    );
    const move = await requestJson<ErrorBody>(
      'POST',
      `${operator}/vms`,
      { id: 'vm-b1', tenant: 'tenant-a', url: 'http://127.0.0.1:9' },
      10_000,
      // With tenant-a's secret, which Mallory holds: the id itself must be the wall.
      { [TENANT_SECRET_HEADER]: tenantASecret },
    );
    assert.ok(
      table.record("claim vm-b1's id for tenant-a", '409', refusedWith(move.status, move.body), move.status === 409),
    );
  });

  it('cannot heartbeat, deregister or listen for another VM with its own token', async () => {
    const beat = await asMallory('POST', `${operator}/vms/vm-a2/heartbeat`);
    assert.ok(
      table.record(
        "heartbeat vm-a2 with mallory's token",
        '403',
        refusedWith(beat.status, beat.body),
        beat.status === 403,
      ),
    );
    const gone = await asMallory('DELETE', `${operator}/vms/vm-b1`);
    assert.ok(
      table.record(
        "deregister vm-b1 with mallory's token",
        '403',
        refusedWith(gone.status, gone.body),
        gone.status === 403,
      ),
    );
    await requestJson('POST', `${urlOf(state, 'vm-a2')}/workloads/echo`, { service: 'echo-a' });
    const steal = await asMallory('POST', `${operator}/listeners`, { service: 'echo-a' });
    assert.ok(
      table.record(
        "listen on vm-a2's service name",
        '409',
        refusedWith(steal.status, steal.body),
        steal.status === 409,
      ),
    );
  });

  it('gets a 4xx naming the limit for a body too deep or too large, and the operator keeps serving', async () => {
    const deep = await fetch(`${operator}/vms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '['.repeat(50_000) + ']'.repeat(50_000),
    });
    const deepBody = (await deep.json()) as ErrorBody;
    assert.ok(
      table.record(
        'JSON nested 50 000 deep',
        '400 naming the limit',
        refusedWith(deep.status, deepBody),
        deep.status === 400,
      ),
    );
    assert.match(deepBody.error?.message ?? '', /deeper than 64 levels/);
    const large = await requestJson<ErrorBody>('POST', `${operator}/vms`, { pad: 'x'.repeat(2 * 1024 * 1024) });
    assert.ok(table.record('2 MiB request body', '413', refusedWith(large.status, large.body), large.status === 413));
    assert.equal((await requestJson('GET', `${operator}/health`)).status, 200);
  });

  it("cannot read, write or enumerate another VM's keys or the lab's with its own Redis credentials", async () => {
    const attempts: [string, string[]][] = [
      ["read tenant-mate vm-a2's rx", ['XRANGE', PORT_KEYS.rx('vm-a2'), '-', '+']],
      ["read vm-b1's rx", ['XRANGE', PORT_KEYS.rx('vm-b1'), '-', '+']],
      ["read vm-b1's rx the way a VM reads its own", ['XREAD', 'COUNT', '1', 'STREAMS', PORT_KEYS.rx('vm-b1'), '0']],
      ["inject a frame into vm-b1's tx", ['XADD', PORT_KEYS.tx('vm-b1'), '*', 'frame', 'x']],
      ["delete vm-a2's tx", ['DEL', PORT_KEYS.tx('vm-a2')]],
      ['list every key', ['KEYS', '*']],
      ['scan the keyspace', ['SCAN', '0']],
      ['flush Redis', ['FLUSHALL']],
      ['read the config', ['CONFIG', 'GET', '*']],
      ['list ACL users', ['ACL', 'LIST']],
      ['run a script', ['EVAL', 'return 1', '0']],
    ];
    await expectRedisRefusals(attempts);
  });

  it('cannot join another tenant, with or without its own secret, nor a tenant nobody declared', async () => {
    const join = (tenant: string, secret?: string) =>
      requestJson<ErrorBody>(
        'POST',
        `${operator}/vms`,
        { id: `mallory-${tenant}`, tenant, url: 'http://127.0.0.1:9' },
        10_000,
        secret === undefined ? {} : { [TENANT_SECRET_HEADER]: secret },
      );
    for (const [attack, tenant, secret] of [
      ["join tenant-b with tenant-a's secret", 'tenant-b', tenantASecret],
      ['join tenant-b without a secret', 'tenant-b', undefined],
      ['join a made-up tenant', 'tenant-evil', tenantASecret],
    ] as const) {
      const { status, body } = await join(tenant, secret);
      assert.ok(table.record(attack, '403', refusedWith(status, body), status === 403), attack);
      assert.ok(!JSON.stringify(body).includes(tenantASecret), 'the secret is never echoed');
    }
    const { body } = await labAdminRequest<{ vms: { id: string }[] }>('GET', `${operator}/vms`);
    assert.ok(!body.vms.some((vm) => vm.id.startsWith('mallory-')), 'no refused VM was registered');
  });

  it('cannot call the switch, the allocator or telemetry, with no credential or with its VM token', async () => {
    const [sw, allocator, telemetry] = ['switch', 'allocator', 'telemetry'].map((name) => urlOf(state, name));
    const dropAll = {
      name: 'drop_all',
      version: 1,
      actions: [{ name: 'drop', ops: [{ op: 'drop' }] }],
      tables: [
        {
          name: 't',
          key: [{ field: 'l4.dport', match: 'exact' }],
          actions: ['drop'],
          defaultAction: { action: 'drop' },
          size: 1,
        },
      ],
      control: [{ table: 't' }],
    };
    const calls: [string, 'GET' | 'PUT', string, unknown][] = [
      ["sample tenant-b's frames at 1.0", 'PUT', `${sw}/tenants/tenant-b/sampling`, { rate: 1 }],
      ["set tenant-b's CPU weight", 'PUT', `${sw}/tenants/tenant-b/cpu-weight`, { weight: 0.01 }],
      ["read tenant-b's switch counters", 'GET', `${sw}/dataplane`, undefined],
      ["download tenant-b's frames as pcap", 'GET', `${telemetry}/traces/tenant-b/pcap`, undefined],
      ["read tenant-b's program events", 'GET', `${telemetry}/events/tenant-b`, undefined],
      [
        'install a drop-all program for tenant-b',
        'PUT',
        `${allocator}/tenants/tenant-b/program`,
        { vms: ['vm-b1', 'vm-b2'], program: dropAll },
      ],
    ];
    for (const [attack, method, url, body] of calls) {
      const bare = await requestJson<ErrorBody>(method, url, body);
      assert.ok(
        table.record(`${attack}, no credential`, '401', refusedWith(bare.status, bare.body), bare.status === 401),
        attack,
      );
      const withVmToken = await asMallory(method, url, body);
      assert.ok(
        table.record(
          `${attack}, VM token`,
          '403',
          refusedWith(withVmToken.status, withVmToken.body),
          withVmToken.status === 403,
        ),
        attack,
      );
    }
    assert.equal(
      (await labAdminRequest('GET', `${sw}/tenants/tenant-b/program`)).status,
      404,
      'no program was installed',
    );
  });

  it("cannot impair any VM's port, another tenant's or its own, at the switch or through the operator", async () => {
    const sw = urlOf(state, 'switch');
    const calls: [string, 'GET' | 'PUT' | 'DELETE', string, unknown][] = [
      ["drop all of vm-b1's frames at the switch", 'PUT', `${sw}/ports/vm-b1/impairment`, { lossRate: 1 }],
      ['delay its own port at the switch', 'PUT', `${sw}/ports/${MALLORY}/impairment`, { delayMs: 10_000 }],
      ["lift vm-b1's impairment at the switch", 'DELETE', `${sw}/ports/vm-b1/impairment`, undefined],
      ["drop all of vm-b1's frames through the operator", 'PUT', `${operator}/vms/vm-b1/impairment`, { lossRate: 1 }],
      ['impair its own port through the operator', 'PUT', `${operator}/vms/${MALLORY}/impairment`, { lossRate: 1 }],
      ["read vm-b1's impairment through the operator", 'GET', `${operator}/vms/vm-b1/impairment`, undefined],
    ];
    for (const [attack, method, url, body] of calls) {
      const bare = await requestJson<ErrorBody>(method, url, body);
      assert.ok(
        table.record(`${attack}, no credential`, '401', refusedWith(bare.status, bare.body), bare.status === 401),
        attack,
      );
      const withVmToken = await asMallory(method, url, body);
      assert.ok(
        table.record(
          `${attack}, VM token`,
          '403',
          refusedWith(withVmToken.status, withVmToken.body),
          withVmToken.status === 403,
        ),
        attack,
      );
    }
    for (const vm of ['vm-b1', MALLORY]) {
      // Mallory's port may not be attached (its VM has no vNIC running): 404 says there is nothing to impair either.
      const { status, body } = await labAdminRequest<{ impairment: unknown }>('GET', `${sw}/ports/${vm}/impairment`);
      assert.ok(
        status === 404 || (status === 200 && body.impairment === null),
        `${vm}: ${status} ${JSON.stringify(body)}`,
      );
    }
  });

  it("cannot see the lab dashboard (every tenant's data), nor the operator's lab view, with what a VM holds", async () => {
    const telemetry = urlOf(state, 'telemetry');
    const readers: [string, string][] = [
      ['dashboard data', `${telemetry}/dashboard/api/snapshot`],
      ['dashboard live stream', `${telemetry}/dashboard/events`],
      ["dashboard pcap of tenant-b's frames", `${telemetry}/dashboard/api/traces/tenant-b/pcap`],
      ['dashboard Jaeger proxy', `${telemetry}/dashboard/api/jaeger/traces?service=operator`],
      ["operator's view of every circuit", `${operator}/lab/circuits`],
    ];
    const held: [string, Record<string, string>][] = [
      ['no credential', {}],
      ['VM token', { authorization: `Bearer ${mallory.token}` }],
      ['VM Redis password as a bearer token', { authorization: `Bearer ${mallory.redisPassword}` }],
      ['a made-up session cookie', { cookie: `tenantlab_dashboard=${'0'.repeat(64)}` }],
    ];
    for (const [what, url] of readers) {
      for (const [credential, headers] of held) {
        // The operator knows no cookies: a cookie alone is no credential there.
        const bare = credential === 'no credential' || (url.startsWith(operator) && headers.cookie !== undefined);
        const answer = await requestJson<ErrorBody>('GET', url, undefined, 10_000, headers);
        const expected = bare ? 401 : 403;
        assert.ok(
          table.record(
            `${what}, ${credential}`,
            String(expected),
            refusedWith(answer.status, answer.body),
            answer.status === expected,
          ),
          `${what}, ${credential}: ${answer.status}`,
        );
      }
    }
    for (const [credential, token] of [
      ['VM token', mallory.token],
      ['VM Redis password', mallory.redisPassword],
      ["tenant-a's enrollment secret", tenantASecret],
    ] as const) {
      const login = await requestJson<ErrorBody>('POST', `${telemetry}/dashboard/login`, { token });
      assert.ok(
        table.record(
          `dashboard login with its ${credential}`,
          '403',
          refusedWith(login.status, login.body),
          login.status === 403,
        ),
        credential,
      );
    }
  });

  it("cannot read any tenant's traces from Jaeger's query API with what a VM holds (local mode: it reaches 127.0.0.1)", async () => {
    const jaeger = withoutCredentials(urlOf(state, 'jaeger'));
    const basic = (user: string, password: string): string =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const held: [string, Record<string, string>][] = [
      ['no credential', {}],
      ['VM token', { authorization: `Bearer ${mallory.token}` }],
      ['VM token as the lab user', { authorization: basic('lab', mallory.token) }],
      ['VM Redis password as the lab user', { authorization: basic('lab', mallory.redisPassword) }],
      ["tenant-a's enrollment secret as the lab user", { authorization: basic('lab', tenantASecret) }],
    ];
    for (const path of ['/api/services', '/api/traces?service=tenant-vm&limit=1', '/api/v3/services']) {
      for (const [credential, headers] of held) {
        const answer = await fetch(`${jaeger}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
        await answer.body?.cancel();
        assert.ok(
          table.record(`Jaeger query ${path}, ${credential}`, '401', String(answer.status), answer.status === 401),
          `${path}, ${credential}: ${answer.status}`,
        );
      }
    }
    // The lab's own tools, with the lab's password, read it: the refusals above are the password's, not a dead port's.
    assert.equal((await requestJson('GET', `${urlOf(state, 'jaeger')}/api/services`)).status, 200);
  });

  it("cannot put spans in Jaeger under a service's or another VM's name (local mode: it reaches Jaeger's OTLP ports)", async () => {
    const dataDir = labDataDir(REPO_ROOT, E2E_PROFILE);
    // What vm-a1 holds to export its spans (its trace export token), were its code Mallory's.
    const traceToken = vmTraceExportToken(readLabSecret(dataDir, VM_CONTROL_KEY_SECRET) ?? '', 'vm-a1');
    const operation = `forged-${randomBytes(6).toString('hex')}`;
    const forged = await otlpExport(
      { 'service.name': 'switch', 'service.instance.id': 'vm-b1', 'tenantlab.tenant.id': 'tenant-b' },
      operation,
    );
    const send = async (url: string, authorization: string | undefined): Promise<number> => {
      const answer = await fetch(`${url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', ...(authorization ? { authorization } : {}) },
        body: new Uint8Array(forged),
        signal: AbortSignal.timeout(10_000),
      });
      await answer.body?.cancel();
      return answer.status;
    };
    const basic = (user: string, password: string): string =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const jaegerOtlp = `http://127.0.0.1:${4318 + E2E_PORT_OFFSET}`;
    const held: [string, string | undefined][] = [
      ['no credential', undefined],
      ['its trace export token', `Bearer ${traceToken}`],
      ['its trace export token as the ingest user', basic('ingest', traceToken)],
      ['its VM token', `Bearer ${mallory.token}`],
      ['its Redis password as the ingest user', basic('ingest', mallory.redisPassword)],
      ["tenant-a's enrollment secret as the ingest user", basic('ingest', tenantASecret)],
    ];
    for (const [credential, authorization] of held) {
      const status = await send(jaegerOtlp, authorization);
      assert.ok(
        table.record(
          `export spans straight to Jaeger's OTLP receiver, ${credential}`,
          '401',
          String(status),
          status === 401,
        ),
        `${credential}: ${status}`,
      );
    }
    const relay = urlOf(state, 'otlp-relay');
    for (const [credential, authorization] of [
      ['no token', undefined],
      ['a made-up token', `Bearer ${'f'.repeat(64)}`],
      ['its VM token', `Bearer ${mallory.token}`],
    ] as const) {
      const status = await send(relay, authorization);
      assert.ok(table.record(`export spans to the OTLP relay, ${credential}`, '401', String(status), status === 401));
    }
    // With its own token the relay takes the export, as vm-a1's whatever it claims.
    assert.equal(await send(relay, `Bearer ${traceToken}`), 200);
    const jaeger = urlOf(state, 'jaeger');
    const [trace] = await eventually('the forged span in Jaeger', 30_000, async () => {
      const found = await findTraces(jaeger, 'tenant-vm', operation);
      return found.length > 0 ? found : undefined;
    });
    const holder = Object.values(trace?.processes ?? {})[0];
    const tags = Object.fromEntries((holder?.tags ?? []).map((t) => [t.key, t.value]));
    const claims = [holder?.serviceName, tags['service.instance.id'], tags['tenantlab.tenant.id']];
    const pinned = JSON.stringify(claims) === JSON.stringify(['tenant-vm', 'vm-a1', 'tenant-a']);
    table.record(
      'export a span through the relay claiming to be the switch, as vm-b1 of tenant-b',
      "held as vm-a1's, of tenant-a",
      pinned ? "held as vm-a1's, of tenant-a" : JSON.stringify(claims),
      pinned,
    );
    assert.deepEqual(claims, ['tenant-vm', 'vm-a1', 'tenant-a']);
    assert.deepEqual(await findTraces(jaeger, 'switch', operation), []);
  });

  it('cannot forge or read packet traces on Kafka, without credentials or as a made-up Kafka user', async () => {
    const broker = urlOf(state, 'kafka');
    const forged = {
      topic: TOPICS.packetTraces,
      messages: [{ key: 'tenant-b', value: JSON.stringify({ tenant: 'tenant-b', forged: true }) }],
    };
    // What the attempt came to: "accepted", or the broker's refusal.
    const attempt = async (run: () => Promise<unknown>): Promise<string> =>
      run().then(
        () => 'accepted',
        (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
      );
    const refused = (outcome: string): boolean =>
      outcome !== 'accepted' &&
      /SASL|authentication|AUTHORIZATION_FAILED|not authorized|closed connection/i.test(outcome);
    const clientAs = (sasl?: { username: string; password: string }): Kafka =>
      new Kafka({
        clientId: 'mallory',
        brokers: [broker],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 3000,
        retry: { retries: 0 },
        ...(sasl ? { sasl: { mechanism: 'scram-sha-512' as const, ...sasl } } : {}),
      });
    const produceAs = (kafka: Kafka) => async (): Promise<void> => {
      const producer = kafka.producer({ retry: { retries: 0 } });
      try {
        await producer.connect();
        await producer.send(forged);
      } finally {
        await producer.disconnect();
      }
    };
    const readAs = (kafka: Kafka) => async (): Promise<void> => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.fetchTopicOffsets(TOPICS.packetTraces);
      } finally {
        await admin.disconnect();
      }
    };
    // Mallory's own credentials are the only secrets it has: its VM token as a Kafka password under its VM id.
    const madeUp = { username: MALLORY, password: mallory.token };
    const attacks: [string, () => Promise<void>][] = [
      ['forge a packet trace on Kafka without credentials', produceAs(clientAs())],
      ['forge a packet trace on Kafka as a made-up user', produceAs(clientAs(madeUp))],
      ['read packet trace offsets on Kafka without credentials', readAs(clientAs())],
      ['read packet trace offsets on Kafka as a made-up user', readAs(clientAs(madeUp))],
    ];
    for (const [attack, run] of attacks) {
      const outcome = await attempt(run);
      assert.ok(table.record(attack, 'refused', outcome, refused(outcome)), `${attack}: ${outcome}`);
    }
  });

  it("reads its own tenant's telemetry through the operator, never another's", async () => {
    // Its own tenant's: answered (404 while the switch has sampled no frame of tenant-a yet), never refused.
    const own = await asMallory('GET', `${operator}/tenants/tenant-a/events`);
    assert.ok([200, 404].includes(own.status) && own.body.error?.code !== 'FORBIDDEN', JSON.stringify(own.body));
    for (const path of ['traces', 'traces/pcap', 'events']) {
      const other = await asMallory('GET', `${operator}/tenants/tenant-b/${path}`);
      assert.ok(
        table.record(
          `tenant-b ${path} through the operator`,
          '403',
          refusedWith(other.status, other.body),
          other.status === 403,
        ),
        path,
      );
    }
  });

  it("cannot read another tenant's counters: no service's or VM's /metrics, nor the lab's Prometheus", async () => {
    // Every tenant-a VM holds the sha256 of tenant-a's scrape token (METRICS_TOKEN_SHA256 in its environment), so
    // Mallory may know it; the token itself only Prometheus has (and sends tenant-a's VMs on every scrape: the next
    // test).
    const metricsToken = readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), metricsVmScrapeTokenName('tenant-a')) ?? '';
    const hash = createHash('sha256').update(metricsToken).digest('hex');
    const credentials: [string, string | undefined][] = [
      ['no credential', undefined],
      ['its VM token', `Bearer ${mallory.token}`],
      ['its Redis password', `Bearer ${mallory.redisPassword}`],
      ["the token's sha256", `Bearer ${hash}`],
    ];
    const get = async (url: string, authorization: string | undefined): Promise<string> => {
      const response = await fetch(withoutCredentials(url), {
        headers: authorization ? { authorization } : {},
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      return `${response.status} ${text.includes('tenant-b') ? "with tenant-b's series" : text.slice(0, 80)}`;
    };
    for (const name of ['switch', 'telemetry', 'allocator', 'operator', 'vm-b1']) {
      for (const [what, authorization] of credentials) {
        const outcome = await get(`${urlOf(state, name)}/metrics`, authorization);
        const expected = authorization === undefined ? '401' : '403';
        assert.ok(
          table.record(`read ${name}'s /metrics, ${what}`, expected, outcome, outcome.startsWith(expected)),
          outcome,
        );
      }
    }
    const query = `${urlOf(state, 'prometheus')}/api/v1/query?query=tenantlab_switch_received_frames_total`;
    const basic = (password: string): string => `Basic ${Buffer.from(`tenantlab:${password}`).toString('base64')}`;
    for (const [what, authorization] of [
      ...credentials,
      ['its VM token as the password', basic(mallory.token)],
      ["the token's sha256 as the password", basic(hash)],
    ] as [string, string | undefined][]) {
      const outcome = await get(query, authorization);
      assert.ok(
        table.record(`query the lab's Prometheus, ${what}`, '401', outcome, outcome.startsWith('401')),
        outcome,
      );
    }
  });

  it("cannot replay the token Prometheus scrapes its VM with against another tenant's VM, any service's /metrics or Prometheus", async () => {
    // A VM's /metrics handler is the tenant's own code, and Prometheus sends it a bearer token on every scrape. The
    // test becomes that code: it kills tenant-a's vm-a1 (as a crash would; no other test uses it) and listens on its
    // port before the lab starts it again, until Prometheus's next scrape arrives; then it gives the port back.
    // What it catches is tenant-a's token (each tenant's VMs are scraped with their own): it opens tenant-a's other
    // VMs' /metrics, which are tenant-a's own counters, and nothing else.
    const vm = state.components.find((c) => c.name === 'vm-a1');
    assert.ok(vm, 'the lab has vm-a1');
    const pid = readLabState(REPO_ROOT, E2E_PROFILE)?.components.find((c) => c.name === 'vm-a1')?.pid;
    assert.ok(pid, 'vm-a1 has a process');
    process.kill(pid, 'SIGKILL');
    const captured = await captureScrapeAuthorization(Number(new URL(vm.url).port), 30_000);
    const [scheme, token = ''] = captured.split(' ');
    assert.ok(scheme === 'Bearer' && /^[0-9a-f]{64}$/.test(token), 'Prometheus scraped the VM with a bearer token');
    const get = async (url: string, authorization: string): Promise<string> => {
      const response = await fetch(withoutCredentials(url), {
        headers: { authorization },
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      return `${response.status} ${text.slice(0, 80)}`;
    };
    for (const name of ['operator', 'switch', 'allocator', 'telemetry', 'vm-b1', 'vm-b2']) {
      const outcome = await get(`${urlOf(state, name)}/metrics`, captured);
      assert.ok(
        table.record(`replay the scrape token it was sent at ${name}'s /metrics`, '403', outcome, /^403/.test(outcome)),
        outcome,
      );
    }
    // Its own tenant's other VM: allowed, and only its own tenant's series come back.
    const own = await fetch(`${withoutCredentials(urlOf(state, 'vm-a2'))}/metrics`, {
      headers: { authorization: captured },
      signal: AbortSignal.timeout(10_000),
    });
    const ownText = await own.text();
    const ownOutcome = `${own.status} ${ownText.includes('tenant="tenant-b"') ? "with tenant-b's series" : 'tenant-a only'}`;
    assert.ok(
      table.record(
        "replay the scrape token it was sent at vm-a2's /metrics (its own tenant's)",
        '200 tenant-a only',
        ownOutcome,
        ownOutcome === '200 tenant-a only' && ownText.includes('tenant="tenant-a"'),
      ),
      ownOutcome,
    );
    const prometheus = urlOf(state, 'prometheus');
    for (const [what, authorization] of [
      ['as a bearer token', captured],
      ['as the password', `Basic ${Buffer.from(`tenantlab:${token}`).toString('base64')}`],
    ]) {
      for (const path of ['/api/v1/query?query=up', '/api/v1/targets']) {
        const outcome = await get(`${prometheus}${path}`, authorization);
        assert.ok(
          table.record(
            `replay the scrape token it was sent at Prometheus ${path.split('?')[0]}, ${what}`,
            '401',
            outcome,
            /^401/.test(outcome),
          ),
          outcome,
        );
      }
    }
    // The lab starts vm-a1 again once its port is free.
    await eventually('vm-a1 to be ready again', 90_000, async () =>
      (await fetch(`${withoutCredentials(vm.url)}/ready`, { signal: AbortSignal.timeout(2000) })).status === 200
        ? true
        : undefined,
    );
  });

  it('cannot delete, retype, trim or detach its own port streams, only write frames to them', async () => {
    const attempts: [string, string[]][] = [
      ['delete its own tx', ['DEL', PORT_KEYS.tx(MALLORY)]],
      ['retype its own tx as a string', ['SET', PORT_KEYS.tx(MALLORY), 'x']],
      ['trim its own tx', ['XTRIM', PORT_KEYS.tx(MALLORY), 'MAXLEN', '0']],
      ["destroy the switch's group on its tx", ['XGROUP', 'DESTROY', PORT_KEYS.tx(MALLORY), SWITCH_CONSUMER_GROUP]],
      ['rename its own rx', ['RENAME', PORT_KEYS.rx(MALLORY), 'x']],
      ['set an expiry on its own rx', ['EXPIRE', PORT_KEYS.rx(MALLORY), '1']],
      ['create a key of its own choosing', ['SET', `port:{${MALLORY}}:junk`, 'x']],
    ];
    await expectRedisRefusals(attempts);
  });

  it('gets an oversized entry and garbage frames in its own tx dropped and counted, never forwarded', async () => {
    const sw = urlOf(state, 'switch');
    type Counters = {
      counters: {
        ports: Record<string, { drops: Record<string, number>; malformed: Record<string, number> } | undefined>;
      };
    };
    const huge = Buffer.alloc(200 * 1024, 0xab).toString('latin1');
    await malloryRedis.call('XADD', PORT_KEYS.tx(MALLORY), '*', PORT_ENTRY_FIELDS.frame, huge);
    await malloryRedis.call('XADD', PORT_KEYS.tx(MALLORY), '*', PORT_ENTRY_FIELDS.frame, 'not a frame');
    const port = await eventually('the switch to count both', 30_000, async () => {
      const { body } = await labAdminRequest<Counters>('GET', `${sw}/dataplane`);
      const counters = body.counters.ports[MALLORY];
      const malformed = Object.values(counters?.malformed ?? {}).reduce((sum, n) => sum + n, 0);
      return counters && (counters.drops['oversized-entry'] ?? 0) >= 1 && malformed >= 1 ? counters : undefined;
    });
    assert.ok(
      table.record(
        'a 200 KiB entry and a garbage frame in its own tx',
        'dropped and counted',
        `oversized-entry ${port.drops['oversized-entry']}, malformed ${JSON.stringify(port.malformed)}`,
        true,
      ),
    );
  });

  it('gets hostile multi-frame entries in its own tx refused per frame with a reason, never forwarded', async () => {
    const sw = urlOf(state, 'switch');
    type Counters = {
      counters: { ports: Record<string, { drops: Record<string, number>; rxFrames: number } | undefined> };
    };
    const before = await labAdminRequest<Counters>('GET', `${sw}/dataplane`);
    const dropsBefore = before.body.counters.ports[MALLORY]?.drops ?? {};
    // Issue 11: a packed entry (field m) whose second record claims more bytes than the entry holds, and one with more
    // frames than MAX_FRAMES_PER_ENTRY. The first record's frame is garbage too: parsed and refused as malformed.
    const cutShort = Buffer.concat([packPortFrames([{ frame: Buffer.from('garbage') }]), Buffer.from([0x20, 0, 0])]);
    const tooMany = packPortFrames(
      Array.from({ length: MAX_FRAMES_PER_ENTRY + 1 }, () => ({ frame: Buffer.from('x') })),
    );
    await malloryRedis.call('XADD', PORT_KEYS.tx(MALLORY), '*', PORT_ENTRY_FIELDS.frames, cutShort);
    await malloryRedis.call('XADD', PORT_KEYS.tx(MALLORY), '*', PORT_ENTRY_FIELDS.frames, tooMany);
    const grew = (drops: Record<string, number>, reason: string): number =>
      (drops[reason] ?? 0) - (dropsBefore[reason] ?? 0);
    const port = await eventually('the switch to count both entries, per frame', 30_000, async () => {
      const { body } = await labAdminRequest<Counters>('GET', `${sw}/dataplane`);
      const counters = body.counters.ports[MALLORY];
      return counters && grew(counters.drops, 'entry-malformed') >= 1 && grew(counters.drops, 'entry-over-frames') >= 1
        ? counters
        : undefined;
    });
    const outcome =
      `entry-malformed +${grew(port.drops, 'entry-malformed')}, malformed +${grew(port.drops, 'malformed')}, ` +
      `entry-over-frames +${grew(port.drops, 'entry-over-frames')}`;
    const held =
      grew(port.drops, 'entry-malformed') === 1 &&
      grew(port.drops, 'malformed') >= 1 &&
      grew(port.drops, 'entry-over-frames') === MAX_FRAMES_PER_ENTRY + 1;
    assert.ok(
      table.record(
        'a packed tx entry cut short, and one over MAX_FRAMES_PER_ENTRY frames',
        'each frame refused and counted with its reason',
        outcome,
        held,
      ),
      outcome,
    );
  });

  it("cannot take a tenant-mate's MAC address, nor fill the switch's MAC table, by forging its frames' source", async () => {
    const sw = urlOf(state, 'switch');
    type Dataplane = {
      macs: number;
      ports: unknown[];
      counters: { ports: Record<string, { drops: Record<string, number> } | undefined> };
    };
    const dataplane = async (): Promise<Dataplane> => (await labAdminRequest<Dataplane>('GET', `${sw}/dataplane`)).body;
    const spoofed = (body: Dataplane): number => body.counters.ports[MALLORY]?.drops['spoofed-source'] ?? 0;
    const before = await dataplane();
    // vm-a2's address (taken, it would bring Mallory vm-a2's unicast traffic), vm-b1's, and 2 000 made up (each one
    // learned would grow the switch's memory and make every tenant's cached decisions stale).
    const madeUp = Array.from({ length: 2000 }, () =>
      ['02', ...randomBytes(5).toString('hex').match(/../g)!].join(':'),
    );
    const sources = [vmMacAddress('vm-a2'), vmMacAddress('vm-b1'), ...madeUp];
    const forged = malloryRedis.pipeline();
    for (const srcMac of sources) {
      const frame = buildFrame({
        srcMac,
        dstMac: 'ff:ff:ff:ff:ff:ff',
        ipv4: { src: '10.0.0.1', dst: '10.255.255.255' },
        udp: { srcPort: 5000, dstPort: 6000 },
        payload: Buffer.alloc(16),
      });
      forged.xadd(PORT_KEYS.tx(MALLORY), '*', PORT_ENTRY_FIELDS.frame, frame);
    }
    await forged.exec();
    const after = await eventually('the switch to count every forged frame', 30_000, async () => {
      const body = await dataplane();
      return spoofed(body) - spoofed(before) >= sources.length ? body : undefined;
    });
    // vm-a1's frames to vm-a2 still reach vm-a2, all of them. Mallory's rx emptied first (its VM may trim it), so that
    // anything of them sent its way would find room there.
    await malloryRedis.xtrim(PORT_KEYS.rx(MALLORY), 'MAXLEN', 0);
    const count = 100;
    const received = await framesArrive('vm-a1', 'vm-a2', count);
    // None reached Mallory: not by its forged address, and not flooded to vm-a2's tenant-mates either, as a frame to
    // an address the switch had not learned would be (it knows every VM's from its port's attach).
    const a2Mac = Buffer.from(vmMacAddress('vm-a2').replace(/:/g, ''), 'hex');
    const inbox = (await malloryRedis.xreadBuffer('COUNT', 100_000, 'STREAMS', PORT_KEYS.rx(MALLORY), '0')) ?? [];
    const overheard = inbox
      .flatMap(([, entries]) => entries.flatMap(([, fields]) => portEntryContent(fields).frames))
      .filter(({ frame }) => frame.subarray(0, 6).equals(a2Mac)).length;
    const outcome =
      `spoofed-source +${spoofed(after) - spoofed(before)} of ${sources.length}, MAC table ${before.macs} -> ` +
      `${after.macs} addresses (${after.ports.length} ports), vm-a2 got ${received}/${count} of vm-a1's frames, ` +
      `Mallory ${overheard}`;
    const held =
      spoofed(after) - spoofed(before) === sources.length &&
      after.macs <= after.ports.length &&
      received === count &&
      overheard === 0;
    assert.ok(
      table.record(
        "frames in its own tx with a tenant-mate's, another tenant's and 2 000 made-up source MACs",
        'dropped as spoofed-source, no address learned, vm-a2 keeps its traffic, Mallory sees none of it',
        outcome,
        held,
      ),
      outcome,
    );
  });

  it('gets its Redis connections over its cap closed by the operator, and is told so', async () => {
    const many = Array.from(
      { length: 50 },
      () =>
        new Redis({
          port: 6379 + E2E_PORT_OFFSET,
          host: '127.0.0.1',
          username: mallory.redisUsername,
          password: mallory.redisPassword,
          enableReadyCheck: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        }),
    );
    for (const connection of many) connection.on('error', () => undefined);
    try {
      // Each connects and logs in; the warden may close some before their PING answers ("Connection is closed"),
      // which is what is tested below, so a refused PING is not a failure here.
      await Promise.allSettled(many.map((connection) => connection.ping()));
      const open = await eventually('the connection warden to close the surplus', 20_000, async () => {
        const alive = many.filter((connection) => connection.status === 'ready').length;
        return alive <= 8 ? alive : undefined;
      });
      const { body } = await asMallory<{ warden: { connectionsClosed: number } }>('GET', `${operator}/circuits`);
      assert.ok(
        table.record(
          '50 Redis connections as its own user',
          'all but its cap (8) closed',
          `${open} of 50 still open, warden counts ${body.warden.connectionsClosed} closed`,
          open <= 8,
        ),
      );
    } finally {
      for (const connection of many) connection.disconnect();
    }
  });

  it("cannot keep another tenant's program from being linked by flooding the allocator with its own", async () => {
    const program = (file: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, 'programs', file), 'utf8'));
    const own = program('heavy-hitter.json');
    // Mallory keeps FLOOD submissions of its tenant's program in flight for FLOOD_MS: every one admitted is a new
    // pipeline version, and every tenant's change goes through the one allocator.
    const FLOOD = 32;
    const FLOOD_MS = 3_000;
    const floodEnds = Date.now() + FLOOD_MS;
    const statuses: number[] = [];
    const refusals: string[] = [];
    const flooder = async (): Promise<void> => {
      while (Date.now() < floodEnds) {
        const answer = await asMallory('PUT', `${operator}/program`, { program: own });
        statuses.push(answer.status);
        if (answer.status === 429) refusals.push(answer.body.error?.message ?? '');
      }
    };
    const flood = Promise.all(Array.from({ length: FLOOD }, flooder));
    let victim: { status: number; body: { version?: number } & ErrorBody } | undefined;
    try {
      // tenant-b submits its program through its own VM once the flood is under way: it is linked, not refused.
      await eventually('the flood to be under way', 5_000, () =>
        Promise.resolve(statuses.length > FLOOD ? true : undefined),
      );
      victim = await requestJson<{ version?: number } & ErrorBody>(
        'PUT',
        `${urlOf(state, 'vm-b1')}/program`,
        { program: program('flow-counters.json') },
        20_000,
      );
    } finally {
      await flood;
    }
    const linked = statuses.filter((status) => status === 200 || status === 201).length;
    const outcome =
      `tenant-b ${victim.status === 200 || victim.status === 201 ? `linked (version ${victim.body.version})` : refusedWith(victim.status, victim.body)}; ` +
      `Mallory ${statuses.length} submissions: ${linked} linked, ${refusals.length} refused 429`;
    await requestJson('DELETE', `${urlOf(state, 'vm-b1')}/program`, undefined, 10_000);
    await asMallory('DELETE', `${operator}/program`);
    assert.ok(
      table.record(
        `${FLOOD} program submissions in flight for ${FLOOD_MS / 1000} s while tenant-b submits one`,
        "tenant-b's linked; the flood's excess 429",
        outcome,
        (victim.status === 200 || victim.status === 201) &&
          refusals.length > 0 &&
          // Refused by the operator's call budget, or by the allocator with the flood's changes waiting their turn.
          refusals.every((message) => /over its budget of calls|waiting for their turn/.test(message)) &&
          statuses.every((status) => status === 200 || status === 201 || status === 429),
      ),
      outcome,
    );
  });

  it('cannot load the switch for another tenant by flooding calls the operator forwards to it', async () => {
    const b2 = urlOf(state, 'vm-b2');
    /** tenant-b's frames vm-b1 to vm-b2, paced, while `during` runs: all must arrive; their one-way p99 in µs. */
    const victimTraffic = async (during: Promise<unknown>): Promise<number | null> => {
      assert.equal((await requestJson('DELETE', `${b2}/traffic/received`)).status, 204);
      const count = 1_500;
      const sent = await requestJson('POST', `${urlOf(state, 'vm-b1')}/traffic/generate`, {
        to: ['vm-b2'],
        protocol: 'udp',
        count,
        size: 128,
        ratePps: 500,
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      const received = await eventually(`${count} frames at vm-b2`, 30_000, async () => {
        const { body } = await requestJson<{ total: number; latencyUs: { p99: number | null } }>(
          'GET',
          `${b2}/traffic/received`,
        );
        return body.total >= count ? body : undefined;
      });
      await during;
      return received.latencyUs.p99;
    };
    const quietP99 = await victimTraffic(Promise.resolve());
    // Mallory keeps FLOOD calls in flight for FLOOD_MS, each one the operator would forward to the switch.
    const FLOOD = 32;
    const FLOOD_MS = 3_000;
    const statuses: number[] = [];
    const floodStarts = Date.now();
    const floodEnds = floodStarts + FLOOD_MS;
    // Every call the operator admitted took its token between the flood's first send and the last answer.
    let lastAnswer = floodStarts;
    const flooder = async (): Promise<void> => {
      while (Date.now() < floodEnds) {
        statuses.push((await asMallory('GET', `${operator}/program/ports`)).status);
        lastAnswer = Date.now();
      }
    };
    const floodP99 = await victimTraffic(Promise.all(Array.from({ length: FLOOD }, flooder)));
    const forwarded = statuses.filter((status) => status !== 429).length;
    const budget = Math.floor(
      TENANT_CONTROL_CALLS_BURST + (TENANT_CONTROL_CALLS_PER_SECOND * (lastAnswer - floodStarts)) / 1000,
    );
    const outcome =
      `${statuses.length} calls, ${forwarded} forwarded (budget ${budget}), ${statuses.length - forwarded} refused 429; ` +
      `tenant-b's frames all delivered, one-way p99 ${quietP99} µs quiet, ${floodP99} µs during the flood`;
    assert.ok(
      table.record(
        `${FLOOD} calls in flight for ${FLOOD_MS / 1000} s that the operator forwards to the switch`,
        "at most the tenant's call budget forwarded, the rest 429",
        outcome,
        forwarded <= budget && statuses.every((status) => status === 200 || status === 429),
      ),
      outcome,
    );
  });

  it("cannot make another tenant's circuit set-ups wait behind its flood of the operator's own calls", async () => {
    /** tenant-b's echoes (vm-b1 to vm-b2, each a circuit set up through the operator) while `during` runs. */
    const victimEchoes = async (during: Promise<unknown>): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const echo = await requestJson<{ verified: boolean; problem?: string }>(
          'POST',
          `${urlOf(state, 'vm-b1')}/workloads/send`,
          { target: 'vm-b2/echo', mode: 'stream', count: 1, size: 64 },
          30_000,
        );
        assert.equal(echo.status, 201, JSON.stringify(echo.body));
        assert.equal(echo.body.verified, true, echo.body.problem);
        times.push(performance.now() - started);
      }
      await during;
      return times.sort((x, y) => x - y);
    };
    const quiet = await victimEchoes(Promise.resolve());
    const statuses: number[] = [];
    let flooding = true;
    const flooder = async (): Promise<void> => {
      while (flooding) statuses.push((await asMallory('GET', `${operator}/circuits`)).status);
    };
    const flood = Promise.all(Array.from({ length: 32 }, flooder));
    const loaded = await victimEchoes(Promise.resolve()).finally(() => (flooding = false));
    await flood;
    const p50 = (times: number[]): string => `${Math.round(times[Math.floor(times.length / 2)] ?? 0)} ms`;
    const outcome =
      `${statuses.length} calls answered (${statuses.filter((status) => status === 429).length} 429); tenant-b's 20 ` +
      `echoes all verified, p50 ${p50(quiet)} quiet, ${p50(loaded)} during the flood`;
    assert.ok(
      table.record(
        "32 of the operator's own calls (GET /circuits) in flight while tenant-b sets up circuits",
        "held in its tenant's turn; tenant-b's echoes answered",
        outcome,
        statuses.length > 0 && statuses.every((status) => status === 200 || status === 429),
      ),
      outcome,
    );
  });

  it('cannot make the operator write a Redis key per service name without bound by listening on ever more names', async () => {
    // The lab runs the operator with its default MAX_LISTENERS_PER_VM, 64.
    const maxListeners = 64;
    const names = Array.from({ length: maxListeners + 8 }, (_, i) => `mallory-svc-${i}`);
    const statuses: number[] = [];
    let refusal = '';
    for (const service of names) {
      const answer = await asMallory('POST', `${operator}/listeners`, { service });
      statuses.push(answer.status);
      if (answer.status === 429) refusal = answer.body.error?.message ?? '';
    }
    const admin = new Redis({
      port: 6379 + E2E_PORT_OFFSET,
      host: '127.0.0.1',
      password: readRedisAdminPassword(labDataDir(REPO_ROOT, E2E_PROFILE)) ?? '',
    });
    let keys: number;
    try {
      keys = (await Promise.all(names.map((name) => admin.exists(REDIS_KEYS.serviceListeners(name))))).reduce(
        (sum, exists) => sum + exists,
        0,
      );
    } finally {
      admin.disconnect();
    }
    for (const service of names.slice(0, maxListeners)) await asMallory('DELETE', `${operator}/listeners/${service}`);
    const listening = statuses.filter((status) => status === 201).length;
    const refused = statuses.filter((status) => status === 429).length;
    const outcome = `${listening} listened, ${refused} refused 429 (${refusal.slice(0, 60)}), ${keys} listener keys in Redis`;
    assert.ok(
      table.record(
        `listen on ${names.length} service names from one VM`,
        `${maxListeners} listened, the rest 429, no key for them`,
        outcome,
        listening === maxListeners && refused === names.length - maxListeners && keys === maxListeners,
      ),
      outcome,
    );
  });

  it("cannot drive another VM through its control API: no token, a made-up one or a tenant-mate's", async () => {
    // What a hostile VM can hold: nothing, a guess, or the control token the lab sends its own VM (vm-a1's here).
    const ownToken = new URL(urlOf(state, 'vm-a1')).password;
    const plain = (vm: string): string => withoutCredentials(urlOf(state, vm));
    const attempts: [string, string, 'GET' | 'POST' | 'PUT', string, unknown][] = [
      ['install a drop-all program as vm-b1', 'vm-b1', 'PUT', '/program', { program: { name: 'drop_all' } }],
      [
        'make vm-b1 send frames',
        'vm-b1',
        'POST',
        '/traffic/generate',
        { to: ['vm-b2'], protocol: 'udp', count: 1, size: 64 },
      ],
      ['read what vm-b1 received', 'vm-b1', 'GET', '/traffic/received', undefined],
      [
        'open a circuit as vm-b1',
        'vm-b1',
        'POST',
        '/workloads/send',
        { target: 'vm-b2/echo', mode: 'stream', count: 1, size: 8 },
      ],
      ["read tenant-mate vm-a2's circuits", 'vm-a2', 'GET', '/circuits', undefined],
    ];
    for (const [attack, vm, method, path, body] of attempts) {
      for (const [how, headers, expected] of [
        ['no token', {}, 401],
        ['a made-up token', { authorization: `Bearer ${'f'.repeat(64)}` }, 403],
        ["vm-a1's own control token", { authorization: `Bearer ${ownToken}` }, 403],
      ] as const) {
        const answer = await requestJson<ErrorBody>(method, `${plain(vm)}${path}`, body, 10_000, headers);
        assert.ok(
          table.record(
            `VM API: ${attack}, ${how}`,
            String(expected),
            refusedWith(answer.status, answer.body),
            answer.status === expected,
          ),
          `${attack} with ${how}: ${answer.status}`,
        );
      }
    }
    // The lab itself, with vm-b1's control URL, still drives it.
    assert.equal((await requestJson('GET', `${urlOf(state, 'vm-b1')}/traffic/received`)).status, 200);
  });

  it("cannot map another tenant's VMs from the operator's registry: not listed, not found, not without a token", async () => {
    const attempts: [string, string, 'GET', string, number][] = [
      ["list tenant-b's VMs", 'mallory', 'GET', '/vms?tenant=tenant-b', 403],
      ["read vm-b1's entry (its control URL)", 'mallory', 'GET', '/vms/vm-b1', 404],
      ['list every VM without a token', 'none', 'GET', '/vms', 401],
      ["read vm-b1's entry without a token", 'none', 'GET', '/vms/vm-b1', 401],
    ];
    for (const [attack, who, method, path, expected] of attempts) {
      const answer =
        who === 'mallory'
          ? await asMallory(method, `${operator}${path}`)
          : await requestJson<ErrorBody>(method, `${operator}${path}`);
      assert.ok(
        table.record(
          `registry: ${attack}`,
          String(expected),
          refusedWith(answer.status, answer.body),
          answer.status === expected,
        ),
        `${attack}: ${answer.status}`,
      );
      assert.ok(!JSON.stringify(answer.body).includes(withoutCredentials(urlOf(state, 'vm-b1'))), 'no URL of vm-b1');
    }
    // Its own list names its own tenant's VMs only.
    const own = await asMallory<{ vms: { id: string; tenant: string }[] }>('GET', `${operator}/vms`);
    assert.equal(own.status, 200);
    assert.ok(own.body.vms.some((vm) => vm.id === MALLORY));
    assert.deepEqual([...new Set(own.body.vms.map((vm) => vm.tenant))], ['tenant-a']);
  });

  it('cannot register more VMs than its maxVms by registering many at once', async () => {
    // The lab declares tenant-a with the operator's default caps: TENANT_MAX_VMS, 64.
    const maxVms = 64;
    const attempts = maxVms + 16;
    const answers = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        requestJson<{ credentials: Credentials }>(
          'POST',
          `${operator}/vms`,
          { id: `mallory-swarm-${i}`, tenant: 'tenant-a', url: 'http://127.0.0.1:9' },
          30_000,
          { [TENANT_SECRET_HEADER]: tenantASecret },
        ).then((answer) => ({ ...answer, id: `mallory-swarm-${i}` })),
      ),
    );
    const admitted = answers.filter((answer) => answer.status === 201);
    const { body: vms } = await labAdminRequest<{ vms: { tenant: string; alive: boolean }[] }>(
      'GET',
      `${operator}/vms`,
    );
    const live = vms.vms.filter((vm) => vm.tenant === 'tenant-a' && vm.alive).length;
    for (const answer of admitted) {
      await requestJson('DELETE', `${operator}/vms/${answer.id}`, undefined, 10_000, {
        authorization: `Bearer ${answer.body.credentials.token}`,
      });
    }
    assert.ok(
      table.record(
        `${attempts} registrations at once in its own tenant (maxVms ${maxVms})`,
        'at most maxVms live, the rest 429',
        `${admitted.length} admitted, ${live} live at once, ${answers.filter((a) => a.status === 429).length} refused 429`,
        live <= maxVms && admitted.length + answers.filter((a) => a.status === 429).length === attempts,
      ),
    );
  });

  it('gets a circuit between two of its own VMs reset when both ends ignore the protocol', async () => {
    const second = await requestJson<{ credentials: Credentials }>(
      'POST',
      `${operator}/vms`,
      { id: `${MALLORY}-2`, tenant: 'tenant-a', url: 'http://127.0.0.1:9' },
      10_000,
      { [TENANT_SECRET_HEADER]: tenantASecret },
    );
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const listen = await requestJson('POST', `${operator}/listeners`, { service: 'mallory-sink' }, 10_000, {
      authorization: `Bearer ${second.body.credentials.token}`,
    });
    assert.equal(listen.status, 201, JSON.stringify(listen.body));
    const circuit = await asMallory<{ id: string; rings: { write: string } }>('POST', `${operator}/circuits`, {
      target: `${MALLORY}-2/mallory-sink`,
      mode: 'stream',
      capacity: { entries: 16, bytes: 65_536 },
    });
    assert.equal(circuit.status, 201, JSON.stringify(circuit.body));
    const ring = `circuit:{${circuit.body.id}}:a2b`;
    // The writer ignores its credit, the reader (its own other VM) never trims.
    const pipeline = malloryRedis.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.xadd(ring, '*', 'k', 'd', 'p', 'x'.repeat(64));
    await pipeline.exec();
    const warden = await eventually('the ring warden to reset the circuit', 20_000, async () => {
      const { body } = await asMallory<{ warden: { ringResets: number; lastReason?: string } }>(
        'GET',
        `${operator}/circuits`,
      );
      return body.warden.ringResets >= 1 ? body.warden : undefined;
    });
    const after = await malloryRedis.xlen(ring).then(
      (length) => `XLEN ${length}`,
      (error: Error) => error.message.slice(0, 40),
    );
    await requestJson('DELETE', `${operator}/vms/${MALLORY}-2`, undefined, 10_000, {
      authorization: `Bearer ${second.body.credentials.token}`,
    });
    assert.ok(
      table.record(
        '2000 entries into a ring of 16, both ends its own VMs',
        'circuit reset, ring freed',
        `${warden.lastReason ?? ''}; then ${after}`,
        /ring warden/.test(warden.lastReason ?? '') && !after.startsWith('XLEN 2'),
      ),
    );
  });

  it("cannot hold more than its tenant's rx budget in Redis by registering VMs that never read", async () => {
    // Mallory registers 10 more VMs of tenant-a (its maxVms is 64) that never read their rx, and broadcasts jumbo frames
    // from its own tx: each copy to them stays in Redis. Unbounded per tenant, each would hold a port's 16 MiB.
    const ids = Array.from({ length: 10 }, (_, i) => `mallory-fill-${i}`);
    const tokens = new Map<string, string>();
    const admin = new Redis({
      port: 6379 + E2E_PORT_OFFSET,
      host: '127.0.0.1',
      password: readRedisAdminPassword(labDataDir(REPO_ROOT, E2E_PROFILE)) ?? '',
    });
    const sw = urlOf(state, 'switch');
    type Dataplane = {
      ports: { vm: string; tenant: string }[];
      counters: { ports: Record<string, { rxFrames: number } | undefined> };
    };
    try {
      for (const id of ids) {
        const answer = await requestJson<{ credentials: Credentials }>(
          'POST',
          `${operator}/vms`,
          { id, tenant: 'tenant-a', url: 'http://127.0.0.1:9' },
          10_000,
          { [TENANT_SECRET_HEADER]: tenantASecret },
        );
        assert.equal(answer.status, 201, JSON.stringify(answer.body));
        tokens.set(id, answer.body.credentials.token);
      }
      const before = await eventually('the switch to attach the 10 VMs', 20_000, async () => {
        const { body } = await labAdminRequest<Dataplane>('GET', `${sw}/dataplane`);
        const attached = new Set(body.ports.map((port) => port.vm));
        return ids.every((id) => attached.has(id)) ? body : undefined;
      });
      const readBefore = before.counters.ports[MALLORY]?.rxFrames ?? 0;
      const broadcasts = 1500;
      const jumbo = (i: number): Buffer => sequencedFrame(MALLORY, 'ff:ff:ff:ff:ff:ff', i, { payloadBytes: 8000 });
      for (let i = 0; i < broadcasts; i += 100) {
        const pipeline = malloryRedis.pipeline();
        for (let j = i; j < i + 100; j++) pipeline.xadd(PORT_KEYS.tx(MALLORY), '*', PORT_ENTRY_FIELDS.frame, jumbo(j));
        await pipeline.exec();
      }
      await eventually('the switch to have read every broadcast', 60_000, async () => {
        const { body } = await labAdminRequest<Dataplane>('GET', `${sw}/dataplane`);
        const read = (body.counters.ports[MALLORY]?.rxFrames ?? 0) - readBefore;
        return read >= broadcasts && (await admin.xlen(PORT_KEYS.tx(MALLORY))) === 0 ? true : undefined;
      });
      let held = 0;
      for (const id of ids) held += await rxFrameBytes(admin, id);
      const outcome = `${(held / 2 ** 20).toFixed(1)} MiB held by the 10, budget ${TENANT_PORT_BUDGETS.rxBytes / 2 ** 20} MiB`;
      assert.ok(
        table.record(
          `10 more VMs of its tenant that never read, flooded with ${broadcasts} jumbo broadcasts`,
          "within the tenant's rx budget (TENANT_RX_BYTES)",
          outcome,
          held <= TENANT_PORT_BUDGETS.rxBytes && held > TENANT_PORT_BUDGETS.rxBytes / 2,
        ),
        outcome,
      );
    } finally {
      for (const [id, token] of tokens) {
        await requestJson('DELETE', `${operator}/vms/${id}`, undefined, 10_000, { authorization: `Bearer ${token}` });
      }
      admin.disconnect();
    }
  });

  it("leaves tenant-b's circuits and frames flowing after all of the above", async () => {
    const echo = await requestJson<{ verified: boolean; problem?: string }>(
      'POST',
      `${urlOf(state, 'vm-b1')}/workloads/send`,
      { target: 'vm-b2/echo', mode: 'stream', count: 200, size: 512 },
      60_000,
    );
    assert.equal(echo.status, 201, JSON.stringify(echo.body));
    assert.equal(echo.body.verified, true, echo.body.problem);
    const count = 500;
    const total = await framesArrive('vm-b1', 'vm-b2', count);
    assert.ok(
      table.record(
        '(control) tenant-b echo and frames',
        'verified, all delivered',
        `echo verified, ${total}/${count} frames`,
        total === count,
      ),
    );
  });
});

/**
 * Listens on 127.0.0.1:`port` (once it is free: retried until `timeoutMs`) as a VM's /metrics handler would, and
 * resolves with the Authorization header of the first scrape of /metrics; the port is given back before it resolves.
 */
async function captureScrapeAuthorization(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen: (authorization: string) => void = () => undefined;
  const authorization = new Promise<string>((resolve) => (seen = resolve));
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('');
    if (request.url === '/metrics') seen(request.headers.authorization ?? '');
  });
  // The killed VM's socket closes as the process dies: bind as soon as the port is free.
  for (;;) {
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) break;
    if (Date.now() > deadline) throw new Error(`port ${port} not free within ${timeoutMs / 1000} s`);
    await new Promise((done) => setTimeout(done, 20));
  }
  try {
    return await Promise.race([
      authorization,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no scrape within the deadline')), deadline - Date.now()).unref(),
      ),
    ]);
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
}
