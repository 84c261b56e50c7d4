import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ensureServiceTokens,
  isPortFree,
  isProcessAlive,
  labDataDir,
  LabState,
  readLabSecret,
  redisAdminPasswordFile,
  tenantSecretName,
  type TestLab,
} from '@tenantlab/lab';
import { macToString, requestJson, TENANT_SECRET_HEADER, TOPICS, vmMacAddress } from '@tenantlab/shared';
import { findTraces } from './jaeger-api';
import {
  startE2eLab,
  E2E_PROFILE,
  eventually,
  labAdminHeaders,
  labAdminRequest,
  labKafka,
  LAB_CLI,
  REPO_ROOT,
  urlOf,
} from './lab-process';
import { DEFAULT_LAB_VMS } from './lab-suite';
import { checkMalformedFrameTrace } from './packet-trace-truth';
import { redisReplies } from './redis-wire';

interface VmView {
  id: string;
  tenant: string;
  alive: boolean;
}

interface ComponentsBody {
  components: { component: string; messages: number; state: string; missing: number }[];
  rejected: { count: number; recent: { reason: string }[] };
}

const EXPECTED_VMS = DEFAULT_LAB_VMS;

/** The e2e lab's Redis admin password, as `lab up` keeps it in the profile's data dir. */
function readAdminPassword(): string {
  return readFileSync(redisAdminPasswordFile(labDataDir(REPO_ROOT, E2E_PROFILE)), 'utf8').trim();
}

/** A tenant's enrollment secret, as `lab up` keeps it in the profile's data dir. */
function tenantSecret(tenant: string): string {
  const secret = readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), tenantSecretName(tenant));
  if (!secret) throw new Error(`the e2e lab has no enrollment secret for ${tenant}`);
  return secret;
}

describe('the default lab, end to end on real Redis, Kafka and Jaeger', () => {
  let lab: TestLab;
  let state: LabState;

  before(async () => {
    // With the merged log, as `npm run lab` shows it: the quiet-start test reads it.
    lab = await startE2eLab({ quiet: false });
    state = lab.state;
  });

  after(async () => {
    // Only if a test failed before the stop test ran: never leave a lab behind.
    await lab?.stop();
  });

  it('starts quietly: progress, the merged log and the ready table, no line that looks like an error', async () => {
    const output = await eventually('the ready table', 30_000, async () => {
      const text = lab.runner!.output.join('');
      const end = text.indexOf(`Lab "${E2E_PROFILE}" is ready.`);
      return end >= 0 ? text.slice(0, text.indexOf('\n', end)) : undefined;
    });
    const lines = output.split('\n');
    assert.ok(
      lines.some((line) => / operator +INFO /.test(line)),
      `the merged log of the services is shown:\n${output}`,
    );
    const alarming = lines.filter((line) => /error|warn|unavailable|not started/i.test(line));
    assert.deepEqual(alarming, [], 'a healthy start prints nothing that looks like an error');
    // Ready only once the switch has every VM's port: before its next port scan, frames to a VM would not reach it.
    assert.ok(
      lines.some((line) => line.includes('switch attached 4 ports')),
      `the start waits for the switch to attach the four VMs' ports:\n${output}`,
    );
    // VMs start a few at a time; the progress says when the last has registered (README: `N VMs registered`).
    assert.ok(
      lines.some((line) => line.includes('4 VMs registered')),
      `the start says when the four VMs have registered:\n${output}`,
    );
    // README: `lab up` says whether the lab's tenants, each at its caps, fit in Redis's maxmemory.
    assert.ok(
      lines.some((line) => line.includes('Redis: the 2 tenant(s) can hold at most 1.73 GB together at their caps')),
      `the start says what the two tenants can hold in Redis:\n${output}`,
    );
    const starting = lines.filter((line) => line.includes('starting Redis, Kafka and Jaeger'));
    assert.equal(starting.length, 1, starting.join('\n'));
    // Redis, Kafka and Jaeger write to their log files only, beside the services' (README: `.lab/<profile>/logs/`).
    assert.ok(!lines.some((line) => /^[\d:.]+ (redis|kafka|jaeger) /.test(line)), 'no infrastructure line on screen');
    for (const component of ['redis', 'kafka', 'jaeger', 'operator']) {
      const file = join(labDataDir(REPO_ROOT, E2E_PROFILE), 'logs', `${component}.log`);
      assert.ok(existsSync(file) && statSync(file).size > 0, `${file} holds its log`);
    }
  });

  it('has every component ready, as `lab status --json` reports', () => {
    const result = spawnSync(process.execPath, [LAB_CLI, 'status', '--json', '--profile', E2E_PROFILE], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    const report = JSON.parse(result.stdout) as { components: { name: string; ready: boolean; detail: string }[] };
    const names = report.components.map((c) => c.name).sort();
    assert.deepEqual(names, [
      'allocator',
      'jaeger',
      'kafka',
      'operator',
      'otlp-relay',
      'redis',
      'switch',
      'telemetry',
      'vm-a1',
      'vm-a2',
      'vm-b1',
      'vm-b2',
    ]);
    const notReady = report.components.filter((c) => !c.ready).map((c) => `${c.name}: ${c.detail}`);
    assert.deepEqual(notReady, []);
    assert.equal(result.status, 0);
  });

  it('refuses a malformed registration with a 400 that names each bad field, and keeps the registry intact', async () => {
    const operator = urlOf(state, 'operator');
    const { status, body } = await requestJson<{ error: { code: string; details: string[] } }>(
      'POST',
      `${operator}/vms`,
      {
        id: 'Bad Id',
        tenant: 'tenant-a',
        url: 'not a url',
      },
    );
    assert.equal(status, 400);
    assert.equal(body.error.code, 'VALIDATION_FAILED');
    assert.ok(body.error.details.some((d) => d.startsWith('id:')));
    assert.ok(body.error.details.some((d) => d.startsWith('url:')));
    // Taking vm-a1 into tenant-b: refused without tenant-b's secret (403), and with it (409, the id is tenant-a's).
    const hijackBody = { id: 'vm-a1', tenant: 'tenant-b', url: 'http://127.0.0.1:1' };
    const hijack = await requestJson('POST', `${operator}/vms`, hijackBody);
    assert.equal(hijack.status, 403);
    const withSecret = await requestJson('POST', `${operator}/vms`, hijackBody, undefined, {
      [TENANT_SECRET_HEADER]: tenantSecret('tenant-b'),
    });
    assert.equal(withSecret.status, 409);
    const vm = await labAdminRequest<VmView>('GET', `${operator}/vms/vm-a1`);
    assert.equal(vm.body.tenant, 'tenant-a');
  });

  it('answers a body too large or not JSON with a 4xx that says so, from the operator and from a VM', async () => {
    const huge = { id: 'vm-huge', tenant: 'tenant-a', url: 'http://127.0.0.1:1', pad: 'x'.repeat(400_000) };
    const targets = [
      ['POST', `${urlOf(state, 'operator')}/vms`],
      ['PUT', `${urlOf(state, 'vm-a1')}/program`],
    ] as const;
    for (const [method, url] of targets) {
      const { status, body } = await requestJson<{ error: { code: string; message: string } }>(method, url, huge);
      assert.equal(status, 413, `${url}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE');
      assert.match(body.error.message, /over this service's limit of \d+ bytes/);
    }
    const notJson = await rawPost(`${urlOf(state, 'operator')}/vms`, '{"id": ');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body, /JSON/, 'the answer says the body is not JSON');
    assert.equal(
      (await labAdminRequest('GET', `${urlOf(state, 'operator')}/vms/vm-huge`)).status,
      404,
      'nothing registered',
    );
  });

  it("refuses calls to the switch, the allocator and telemetry without the lab's service credentials", async () => {
    const wrong = { authorization: `Bearer ${'0'.repeat(64)}` };
    for (const [service, path] of [
      ['switch', '/dataplane'],
      ['allocator', '/memory'],
      ['telemetry', '/components'],
    ] as const) {
      const url = `${urlOf(state, service)}${path}`;
      assert.equal((await requestJson('GET', url)).status, 401, `${service} without a token`);
      assert.equal((await requestJson('GET', url, undefined, 3000, wrong)).status, 403, `${service}, a wrong token`);
      assert.equal((await labAdminRequest('GET', url)).status, 200, `${service} with the lab's admin token`);
    }
  });

  it('carries status heartbeats from the switch and allocator through Kafka to the telemetry service', async () => {
    const telemetry = urlOf(state, 'telemetry');
    const seen = await eventually('switch and allocator heartbeats in telemetry', 30_000, async () => {
      const { body } = await labAdminRequest<ComponentsBody>('GET', `${telemetry}/components`);
      const kinds = new Set(body.components.filter((c) => c.messages > 0).map((c) => c.component));
      return kinds.has('switch') && kinds.has('allocator') ? body : undefined;
    });
    assert.ok(seen.components.every((c) => c.state === 'running'));
    // Every heartbeat so far is on the topic, including those sent before telemetry joined its group.
    const missing = seen.components.filter((c) => c.missing !== 0);
    assert.deepEqual(missing, [], 'no heartbeat on the topic is reported missing');
  });

  it('counts garbage on the status topic with a reason and keeps consuming', async () => {
    const telemetry = urlOf(state, 'telemetry');
    const before = (await labAdminRequest<ComponentsBody>('GET', `${telemetry}/components`)).body;
    const switchMessages = before.components.find((c) => c.component === 'switch')?.messages ?? 0;
    const kafka = labKafka(state, 'e2e-garbage');
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: TOPICS.componentStatus,
        messages: [
          { value: 'not json at all' },
          { value: JSON.stringify({ component: 'toaster' }) },
          { value: Buffer.alloc(64 * 1024, 'x') },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const after = await eventually('three rejected messages and newer switch heartbeats', 30_000, async () => {
      const { body } = await labAdminRequest<ComponentsBody>('GET', `${telemetry}/components`);
      const newer = (body.components.find((c) => c.component === 'switch')?.messages ?? 0) > switchMessages;
      return body.rejected.count >= before.rejected.count + 3 && newer ? body : undefined;
    });
    const reasons = after.rejected.recent.map((r) => r.reason);
    assert.ok(reasons.includes('message is not valid JSON'), reasons.join(' | '));
    assert.ok(
      reasons.some((r) => r.startsWith('component: expected one of')),
      reasons.join(' | '),
    );
    assert.ok(
      reasons.some((r) => r.includes('more than the')),
      reasons.join(' | '),
    );
  });

  it('refuses Redis commands from a client without credentials; the admin password is in an owner-only file', async () => {
    const file = redisAdminPasswordFile(labDataDir(REPO_ROOT, E2E_PROFILE));
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    const password = readAdminPassword();
    assert.match(password, /^[0-9a-f]{64}$/);

    const redis = new URL(urlOf(state, 'redis'));
    assert.deepEqual([redis.username, redis.password], ['', ''], 'the lab state holds no Redis credentials');
    const port = Number(redis.port);
    const key = `e2e:{${randomUUID()}}:probe`;
    assert.deepEqual(
      await redisReplies(port, [
        ['SET', key, 'x'],
        ['GET', key],
      ]),
      ['-NOAUTH Authentication required.', '-NOAUTH Authentication required.'],
    );
    // The file holds the password Redis really requires, so the checks for leaks look for the right string.
    assert.deepEqual(await redisReplies(port, [['AUTH', password], ['PING']]), ['+OK', '+PONG']);
  });

  it(
    'gives the services the admin password in REDIS_URL, and tenant VMs Redis without any credentials',
    { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ' },
    () => {
      const password = readAdminPassword();
      const port = new URL(urlOf(state, 'redis')).port;
      for (const component of state.components.filter((c) => c.kind !== 'infra')) {
        const environment = readFileSync(`/proc/${component.pid}/environ`, 'utf8').split('\0');
        const redisUrl = environment.find((variable) => variable.startsWith('REDIS_URL='));
        if (component.kind === 'vm') {
          assert.equal(redisUrl, `REDIS_URL=redis://127.0.0.1:${port}`, component.name);
          assert.ok(!environment.some((variable) => variable.includes(password)), `${component.name} has the password`);
        } else if (component.kind === 'relay') {
          // The OTLP relay, which every VM reaches, needs no Redis.
          assert.equal(redisUrl, undefined, component.name);
          assert.ok(!environment.some((variable) => variable.includes(password)), `${component.name} has the password`);
        } else {
          assert.equal(redisUrl, `REDIS_URL=redis://:${password}@127.0.0.1:${port}`, component.name);
        }
      }
    },
  );

  describe('tenant identity (issue 10)', () => {
    const register = (body: { id: string; tenant: string }, secret?: string) =>
      requestJson<{ error: { code: string; message: string }; credentials: { token: string } }>(
        'POST',
        `${urlOf(state, 'operator')}/vms`,
        { ...body, url: `http://127.0.0.1:1/${body.id}` },
        undefined,
        secret === undefined ? {} : { [TENANT_SECRET_HEADER]: secret },
      );
    const adminCall = <T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
      requestJson<T>(method, `${urlOf(state, 'operator')}${path}`, body, undefined, {
        authorization: `Bearer ${readLabSecret(labDataDir(REPO_ROOT, E2E_PROFILE), 'operator-admin-token') ?? ''}`,
      });

    it(
      "hands each VM only its own tenant's secret, and the operator only hashes",
      { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ' },
      () => {
        const secrets = { 'tenant-a': tenantSecret('tenant-a'), 'tenant-b': tenantSecret('tenant-b') };
        for (const component of state.components.filter((c) => c.kind !== 'infra')) {
          const environment = readFileSync(`/proc/${component.pid}/environ`, 'utf8');
          for (const [tenant, secret] of Object.entries(secrets)) {
            const own = component.kind === 'vm' && EXPECTED_VMS[component.name as keyof typeof EXPECTED_VMS] === tenant;
            assert.equal(environment.includes(secret), own, `${component.name} and ${tenant}'s secret`);
          }
        }
      },
    );

    it("refuses a VM holding tenant-a's secret that asks to join tenant-b, and a VM of an undeclared tenant", async () => {
      const id = `vm-x${randomUUID().slice(0, 6)}`;
      const crossed = await register({ id, tenant: 'tenant-b' }, tenantSecret('tenant-a'));
      assert.equal(crossed.status, 403);
      assert.match(crossed.body.error.message, /not tenant tenant-b's enrollment secret/);
      assert.ok(!JSON.stringify(crossed.body).includes(tenantSecret('tenant-a')), 'the secret is not echoed');
      const madeUp = await register({ id, tenant: 'tenant-made-up' }, tenantSecret('tenant-a'));
      assert.equal(madeUp.status, 403);
      assert.match(madeUp.body.error.message, /tenant tenant-made-up is not declared/);
      assert.equal((await labAdminRequest('GET', `${urlOf(state, 'operator')}/vms/${id}`)).status, 404);
      const tenants = await adminCall<{ tenants: { id: string; vlan: number }[] }>('GET', '/tenants');
      assert.deepEqual(tenants.body.tenants.map((t) => t.id).sort(), ['tenant-a', 'tenant-b']);
    });

    it('creates a tenant through the admin API, caps its VMs, needs its secret to re-claim an expired id, and deletes it', async () => {
      const tenant = `tenant-t${randomUUID().slice(0, 6)}`;
      assert.equal((await requestJson('POST', `${urlOf(state, 'operator')}/tenants`, { id: tenant })).status, 401);
      const created = await adminCall<{ vlan: number; enrollmentSecret: string }>('POST', '/tenants', {
        id: tenant,
        caps: { maxVms: 1 },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const secret = created.body.enrollmentSecret;
      const first = await register({ id: `${tenant}-vm1`, tenant }, secret);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const second = await register({ id: `${tenant}-vm2`, tenant }, secret);
      assert.equal(second.status, 429);
      assert.match(second.body.error.message, /quota maxVms exceeded/);

      // vm1 never heartbeats: once its lease is over, its id may be claimed again, but only with the secret.
      await eventually('the lease of vm1 to expire', 40_000, async () => {
        const { body } = await labAdminRequest<VmView>('GET', `${urlOf(state, 'operator')}/vms/${tenant}-vm1`);
        return body.alive ? undefined : true;
      });
      assert.equal((await register({ id: `${tenant}-vm1`, tenant }, tenantSecret('tenant-a'))).status, 403);
      assert.equal((await register({ id: `${tenant}-vm1`, tenant })).status, 403);
      const claimed = await register({ id: `${tenant}-vm1`, tenant }, secret);
      assert.equal(claimed.status, 200, JSON.stringify(claimed.body));

      assert.equal((await adminCall('DELETE', `/tenants/${tenant}`)).status, 409, 'a VM of it is alive');
      const token = claimed.body.credentials.token;
      const deregistered = await requestJson(
        'DELETE',
        `${urlOf(state, 'operator')}/vms/${tenant}-vm1`,
        undefined,
        5000,
        {
          authorization: `Bearer ${token}`,
        },
      );
      assert.equal(deregistered.status, 204);
      assert.equal((await adminCall('DELETE', `/tenants/${tenant}`)).status, 204);
      assert.equal((await register({ id: `${tenant}-vm1`, tenant }, secret)).status, 403, 'the tenant is gone');
    });
  });

  it('never shows the admin password: not in `lab status` (human or --json), the lab output, its logs or state', async () => {
    const password = readAdminPassword();
    for (const args of [['status', '--json'], ['status']]) {
      const result = spawnSync(process.execPath, [LAB_CLI, ...args, '--profile', E2E_PROFILE], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      // Exit 0 means every component is ready, Redis included: status authenticated its probe.
      assert.equal(result.status, 0, `lab ${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.ok(!result.stdout.includes(password), `lab ${args.join(' ')} printed the password`);
      assert.ok(!result.stderr.includes(password), `lab ${args.join(' ')} printed the password on stderr`);
    }
    assert.ok(!lab.runner!.output.join('').includes(password), 'lab up printed the password');

    // What the lab writes: its state, the infrastructure logs and every process's log.
    const dataDir = labDataDir(REPO_ROOT, E2E_PROFILE);
    const written = [
      join(dataDir, 'lab.json'),
      ...readdirSync(dataDir)
        .filter((name) => name.endsWith('.log'))
        .map((name) => join(dataDir, name)),
      ...readdirSync(join(dataDir, 'logs')).map((name) => join(dataDir, 'logs', name)),
    ];
    // lab.json, and a log for each component (Redis, Kafka, Jaeger, each service and VM).
    assert.ok(written.length >= 1 + state.components.length, written.join(', '));
    for (const file of written) assert.ok(!readFileSync(file, 'utf8').includes(password), `${file} holds the password`);

    // Nor the traces: the operator's Redis spans carry connection attributes and statements.
    const traces = await findTraces(urlOf(state, 'jaeger'), 'tenant-vm', 'vm.register');
    assert.ok(traces.length > 0);
    assert.ok(!JSON.stringify(traces).includes(password), 'a Jaeger trace holds the password');
  });

  it(
    'gives the operator its service token and the guarded services their callers, tenant VMs none; prints none',
    { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ' },
    () => {
      const tokens = ensureServiceTokens(labDataDir(REPO_ROOT, E2E_PROFILE));
      // The operator and telemetry call others (telemetry reads the operator, switch and allocator for its
      // dashboard); the switch, the allocator and telemetry hold their own token as their Kafka password too.
      const callers = `CALLER_TOKENS=operator=${tokens.operator},telemetry=${tokens.telemetry},admin=${tokens.admin}`;
      const expected: Record<string, string[]> = {
        operator: [
          `SERVICE_TOKEN=${tokens.operator}`,
          `CALLER_TOKENS=telemetry=${tokens.telemetry},admin=${tokens.admin}`,
        ],
        switch: [callers, `KAFKA_PASSWORD=${tokens.switch}`],
        allocator: [callers, `KAFKA_PASSWORD=${tokens.allocator}`],
        telemetry: [
          `SERVICE_TOKEN=${tokens.telemetry}`,
          `CALLER_TOKENS=operator=${tokens.operator},admin=${tokens.admin}`,
          `KAFKA_PASSWORD=${tokens.telemetry}`,
        ],
      };
      for (const component of state.components.filter((c) => c.kind !== 'infra')) {
        const environment = readFileSync(`/proc/${component.pid}/environ`, 'utf8').split('\0');
        const held = environment.filter((v) => Object.values(tokens).some((token) => v.includes(token)));
        assert.deepEqual(held.sort(), (expected[component.name] ?? []).sort(), component.name);
      }
      const dataDir = labDataDir(REPO_ROOT, E2E_PROFILE);
      const written = [
        join(dataDir, 'lab.json'),
        ...readdirSync(join(dataDir, 'logs')).map((n) => join(dataDir, 'logs', n)),
      ];
      for (const token of Object.values(tokens)) {
        assert.ok(!lab.runner!.output.join('').includes(token), 'lab up printed a service token');
        for (const file of written) assert.ok(!readFileSync(file, 'utf8').includes(token), `${file} holds a token`);
      }
    },
  );

  it("keeps each tenant's packet traces in telemetry, exports them as pcap one tenant per file, counts garbage", async () => {
    const [a2, b1, sw, telemetry] = ['vm-a2', 'vm-b1', 'switch', 'telemetry'].map((name) => urlOf(state, name));
    const sampling = async (tenant: string, rate: number): Promise<void> =>
      assert.equal((await labAdminRequest('PUT', `${sw}/tenants/${tenant}/sampling`, { rate })).status, 200);
    type TraceSummary = {
      tenants: Record<string, { traces: number } | undefined>;
      rejected: { count: number; recent: { reason: string }[] };
    };
    const summary = async (): Promise<TraceSummary> =>
      (await labAdminRequest<TraceSummary>('GET', `${telemetry}/traces`)).body;
    const before = await summary();
    await sampling('tenant-a', 1);
    await sampling('tenant-b', 1);
    try {
      for (const [from, to] of [
        [b1, 'vm-b2'],
        [a2, 'vm-a1'],
      ]) {
        const sent = await requestJson('POST', `${from}/traffic/generate`, {
          to: [to],
          protocol: 'udp',
          count: 50,
          size: 128,
        });
        assert.equal(sent.status, 201, JSON.stringify(sent.body));
      }
      await eventually('telemetry to hold 50 more traces of each tenant', 30_000, async () => {
        const now = await summary();
        const grew = (tenant: string): boolean =>
          (now.tenants[tenant]?.traces ?? 0) >= (before.tenants[tenant]?.traces ?? 0) + 50;
        return grew('tenant-a') && grew('tenant-b') ? true : undefined;
      });
    } finally {
      await sampling('tenant-a', 0.01);
      await sampling('tenant-b', 0.01);
    }
    const macsOf = (tenant: string): string[] =>
      Object.entries(EXPECTED_VMS)
        .filter(([, t]) => t === tenant)
        .map(([vm]) => vmMacAddress(vm));
    for (const tenant of ['tenant-a', 'tenant-b']) {
      const response = await fetch(`${telemetry}/traces/${tenant}/pcap`, { headers: labAdminHeaders() });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/vnd.tcpdump.pcap');
      const frames = pcapFrames(Buffer.from(await response.arrayBuffer()));
      assert.ok(frames.length >= 50, `${tenant}: ${frames.length} frames in its pcap`);
      const sources = new Set(frames.map((frame) => macToString(frame.readUInt16BE(6), frame.readUInt32BE(8))));
      for (const source of sources) assert.ok(macsOf(tenant).includes(source), `${tenant}'s pcap holds ${source}`);
    }
    const unknown = await labAdminRequest<{ error: { code: string; message: string } }>(
      'GET',
      `${telemetry}/traces/tenant-z/pcap`,
    );
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /sampl/);
    // A refusal is JSON, and says so: only a pcap file is labelled as one.
    const refusal = await fetch(`${telemetry}/traces/tenant-z/pcap`, { headers: labAdminHeaders() });
    assert.match(refusal.headers.get('content-type') ?? '', /^application\/json/);

    const kafka = labKafka(state, 'e2e-trace-garbage');
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: TOPICS.packetTraces,
        messages: [{ value: '{"tenant": ' }, { value: JSON.stringify({ tenant: 'tenant-a', verdict: 'teleport' }) }],
      });
    } finally {
      await producer.disconnect();
    }
    const after = await eventually('two rejected trace messages', 30_000, async () => {
      const now = await summary();
      return now.rejected.count >= before.rejected.count + 2 ? now : undefined;
    });
    const reasons = after.rejected.recent.map((r) => r.reason).join(' | ');
    assert.match(reasons, /not valid JSON/);
    assert.match(reasons, /timestampUs|verdict/);
  });

  it("traces a sampled malformed frame with the parser's reason, in the sender's trace, on Kafka and in Jaeger", () =>
    checkMalformedFrameTrace(state, readAdminPassword()));

  it('refuses to start a service with a bad variable: non-zero exit, one line naming it, never its value', () => {
    const result = spawnSync(process.execPath, ['dist/main.js'], {
      cwd: join(REPO_ROOT, 'services', 'operator'),
      env: { PATH: process.env['PATH'], PORT: 'port-secret-42', REDIS_URL: 'redis://127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.notEqual(result.status, 0);
    const lines = result.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      'operator: invalid configuration: PORT is invalid: expected a TCP port, an integer from 1 to 65535 (default 3000)',
    ]);
    assert.ok(!result.stderr.includes('port-secret-42'));
  });

  it('stops on Ctrl-C leaving no process behind, no port taken and no state file', async () => {
    const runner = lab.runner!;
    const pids = [runner.pid, ...state.components.map((c) => c.pid)];
    process.kill(runner.pid, 'SIGINT');
    const code = await runner.exited;
    assert.equal(code, 0, runner.output.join(''));
    const alive = pids.filter((pid) => isProcessAlive(pid));
    assert.deepEqual(alive, []);
    for (const component of state.components) {
      const port = Number(new URL(component.url.includes('//') ? component.url : `tcp://${component.url}`).port);
      assert.equal(await isPortFree(port), true, `${component.name}'s port ${port} is free`);
    }
    assert.equal(existsSync(join(labDataDir(REPO_ROOT, E2E_PROFILE), 'lab.json')), false);
  });
});

/** POSTs `body` as is (requestJson would encode it), for bodies that are not JSON. */
async function rawPost(url: string, body: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, body: await response.text() };
}

/** The frames of a classic little-endian pcap file, each as its captured bytes. */
function pcapFrames(file: Buffer): Buffer[] {
  assert.equal(file.readUInt32LE(0), 0xa1b2c3d4, 'a pcap file');
  const frames: Buffer[] = [];
  for (let at = 24; at < file.length;) {
    const length = file.readUInt32LE(at + 8);
    frames.push(file.subarray(at + 16, at + 16 + length));
    at += 16 + length;
  }
  return frames;
}
