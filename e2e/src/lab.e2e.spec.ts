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
  redisAdminPasswordFile,
} from '@tenantlab/lab';
import {
  createKafkaClient,
  JsonLogger,
  macToString,
  requestJson,
  TOPICS,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { findTraces, isRedisSpan, type JaegerSpan, type JaegerTrace, parentOf, serviceOf, tag } from './jaeger-api';
import {
  E2E_PROFILE,
  eventually,
  labAdminHeaders,
  labAdminRequest,
  LAB_CLI,
  LabProcess,
  REPO_ROOT,
  spawnLab,
  urlOf,
  waitForReadyLab,
} from './lab-process';
import { redisReplies } from './redis-wire';

interface VmView {
  id: string;
  tenant: string;
  alive: boolean;
}

interface ComponentsBody {
  components: { component: string; messages: number; state: string }[];
  rejected: { count: number; recent: { reason: string }[] };
}

const EXPECTED_VMS = { 'vm-a1': 'tenant-a', 'vm-a2': 'tenant-a', 'vm-b1': 'tenant-b', 'vm-b2': 'tenant-b' };

/** The e2e lab's Redis admin password, as `lab up` keeps it in the profile's data dir. */
function readAdminPassword(): string {
  return readFileSync(redisAdminPasswordFile(labDataDir(REPO_ROOT, E2E_PROFILE)), 'utf8').trim();
}

describe('the default lab, end to end on real Redis, Kafka and Jaeger', () => {
  let lab: LabProcess;
  let state: LabState;

  before(async () => {
    lab = spawnLab();
    state = await waitForReadyLab(lab, 240_000);
  });

  after(async () => {
    // Only if a test failed before the stop test ran: never leave a lab behind.
    if (lab.child.exitCode === null) {
      lab.child.kill('SIGINT');
      await lab.exited;
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

  it('lists each tenant VM in the operator registry, alive, under its tenant', async () => {
    const { status, body } = await requestJson<{ vms: VmView[] }>('GET', `${urlOf(state, 'operator')}/vms`);
    assert.equal(status, 200);
    const seen = Object.fromEntries(body.vms.filter((vm) => vm.alive).map((vm) => [vm.id, vm.tenant]));
    assert.deepEqual(seen, EXPECTED_VMS);
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
    const hijack = await requestJson('POST', `${operator}/vms`, {
      id: 'vm-a1',
      tenant: 'tenant-b',
      url: 'http://127.0.0.1:1',
    });
    assert.equal(hijack.status, 409);
    const vm = await requestJson<VmView>('GET', `${operator}/vms/vm-a1`);
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
      (await requestJson('GET', `${urlOf(state, 'operator')}/vms/vm-huge`)).status,
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
  });

  it('counts garbage on the status topic with a reason and keeps consuming', async () => {
    const telemetry = urlOf(state, 'telemetry');
    const before = (await labAdminRequest<ComponentsBody>('GET', `${telemetry}/components`)).body;
    const switchMessages = before.components.find((c) => c.component === 'switch')?.messages ?? 0;
    const kafka = createKafkaClient('e2e-garbage', [urlOf(state, 'kafka')], new JsonLogger('e2e', 'error'));
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

  it('records one Jaeger trace from a VM registering through the operator into Redis, with correct parent links', async () => {
    const trace = await eventually('a vm.register trace spanning tenant-vm, operator and Redis', 30_000, async () => {
      const traces = await findTraces(urlOf(state, 'jaeger'), 'tenant-vm', 'vm.register');
      return traces.find((t) => {
        const services = new Set(t.spans.map((s) => serviceOf(t, s)));
        return services.has('operator') && t.spans.some((s) => isRedisSpan(s));
      });
    });
    const root = trace.spans.find((s) => s.operationName === 'vm.register');
    assert.ok(root, 'the trace has the vm.register span');
    assert.equal(serviceOf(trace, root), 'tenant-vm');
    assert.equal(parentOf(trace, root), undefined, 'vm.register is the root');

    // The operator's server span is a child of the VM's HTTP client span, which is a child of vm.register.
    const serverSpan = trace.spans.find((s) => serviceOf(trace, s) === 'operator' && tag(s, 'span.kind') === 'server');
    assert.ok(serverSpan, 'the operator has a server span in the trace');
    const clientSpan = parentOf(trace, serverSpan);
    assert.ok(clientSpan, 'the server span has its parent in the trace');
    assert.equal(serviceOf(trace, clientSpan), 'tenant-vm');
    assert.equal(tag(clientSpan, 'span.kind'), 'client');
    assert.equal(parentOf(trace, clientSpan)?.spanID, root.spanID);

    // Every Redis command the operator ran descends from that server span.
    const redisSpans = trace.spans.filter((s) => isRedisSpan(s));
    assert.ok(redisSpans.length > 0);
    for (const span of redisSpans) {
      assert.equal(serviceOf(trace, span), 'operator');
      let ancestor = parentOf(trace, span);
      while (ancestor && ancestor.spanID !== serverSpan.spanID) ancestor = parentOf(trace, ancestor);
      assert.equal(
        ancestor?.spanID,
        serverSpan.spanID,
        `${span.operationName} descends from the operator's server span`,
      );
    }
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
        } else {
          assert.equal(redisUrl, `REDIS_URL=redis://:${password}@127.0.0.1:${port}`, component.name);
        }
      }
    },
  );

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
    assert.ok(!lab.output.join('').includes(password), 'lab up printed the password');

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
      const callers = `CALLER_TOKENS=operator=${tokens.operator},admin=${tokens.admin}`;
      const expected: Record<string, string[]> = {
        operator: [`SERVICE_TOKEN=${tokens.operator}`],
        switch: [callers],
        allocator: [callers],
        telemetry: [callers],
      };
      for (const component of state.components.filter((c) => c.kind !== 'infra')) {
        const environment = readFileSync(`/proc/${component.pid}/environ`, 'utf8').split('\0');
        const held = environment.filter((v) => Object.values(tokens).some((token) => v.includes(token)));
        assert.deepEqual(held, expected[component.name] ?? [], component.name);
      }
      const dataDir = labDataDir(REPO_ROOT, E2E_PROFILE);
      const written = [
        join(dataDir, 'lab.json'),
        ...readdirSync(join(dataDir, 'logs')).map((n) => join(dataDir, 'logs', n)),
      ];
      for (const token of Object.values(tokens)) {
        assert.ok(!lab.output.join('').includes(token), 'lab up printed a service token');
        for (const file of written) assert.ok(!readFileSync(file, 'utf8').includes(token), `${file} holds a token`);
      }
    },
  );

  it('echoes over a policy-checked circuit between two VMs of a tenant, and traces the setup VM to operator to VM', async () => {
    const [a1, a2, b1] = ['vm-a1', 'vm-a2', 'vm-b1'].map((vm) => urlOf(state, vm));
    assert.equal((await requestJson('POST', `${a2}/workloads/echo`, { service: 'echo' })).status, 201);
    const sent = await requestJson<{ verified: boolean; problem?: string; circuit: string }>(
      'POST',
      `${a1}/workloads/send`,
      { target: 'vm-a2/echo', mode: 'stream', count: 1000, size: 512 },
      60_000,
    );
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.verified, true, sent.body.problem);
    const denied = await requestJson<{ error: { code: string } }>('POST', `${b1}/workloads/send`, {
      target: 'vm-a2/echo',
      mode: 'datagram',
      count: 1,
      size: 16,
    });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'POLICY_DENIED');

    // vm-a2 learns of the circuit from its inbox; that span continues the trace of vm-a1's connect request. Spans
    // reach Jaeger from three processes at their own pace, so wait for a trace whose chain is complete.
    const rootOf = (t: JaegerTrace, span: JaegerSpan): JaegerSpan => {
      let root = span;
      for (let parent = parentOf(t, root); parent; parent = parentOf(t, root)) root = parent;
      return root;
    };
    const trace = await eventually('a connect traced from vm-a1 through the operator to vm-a2', 30_000, async () => {
      const traces = await findTraces(urlOf(state, 'jaeger'), 'tenant-vm', 'vm.inbox');
      return traces.find((t) => {
        const inbox = t.spans.find((s) => s.operationName === 'vm.inbox');
        return inbox && serviceOf(t, rootOf(t, inbox)) === 'tenant-vm' && rootOf(t, inbox) !== inbox;
      });
    });
    const inbox = trace.spans.find((s) => s.operationName === 'vm.inbox')!;
    const chain: JaegerSpan[] = [];
    for (let span: JaegerSpan | undefined = inbox; span; span = parentOf(trace, span)) chain.push(span);
    const services = chain.map((s) => serviceOf(trace, s));
    assert.equal(services[0], 'tenant-vm', 'vm.inbox is recorded by the listening VM');
    assert.ok(
      chain.some((s) => serviceOf(trace, s) === 'operator' && tag(s, 'http.route') === '/circuits'),
      `vm.inbox descends from the operator's POST /circuits: ${services.join(' <- ')}`,
    );
    assert.equal(services.at(-1), 'tenant-vm', 'the trace starts in the connecting VM');
  });

  it('carries frames VM to switch to VM within a tenant, never across, and samples packet traces into Kafka', async () => {
    const [a1, a2, b1, sw] = ['vm-a1', 'vm-a2', 'vm-b1', 'switch'].map((name) => urlOf(state, name));
    interface Received {
      total: number;
      bySource: Record<string, { received: number; duplicates: number; gaps: number; outOfOrder: number }>;
    }
    interface Dataplane {
      counters: { ports: Record<string, { rxFrames: number } | undefined> };
      traces: { published: number; dropped: number; queued: number; sending: number };
    }
    const dataplane = async (): Promise<Dataplane> => (await labAdminRequest<Dataplane>('GET', `${sw}/dataplane`)).body;
    const put = async (tenant: string, rate: number): Promise<void> => {
      const { status } = await labAdminRequest('PUT', `${sw}/tenants/${tenant}/sampling`, { rate });
      assert.equal(status, 200);
    };
    await put('tenant-a', 0.5);
    await put('tenant-b', 0);
    const traces: { inPort: string; tenant: string; verdict: string; headers: { srcMac: string } }[] = [];
    const kafka = createKafkaClient('e2e-traces', [urlOf(state, 'kafka')], new JsonLogger('e2e', 'error'));
    const consumer = kafka.consumer({ groupId: `e2e-traces-${process.pid}-${Date.now()}` });
    await consumer.connect();
    try {
      // The lab's Kafka starts empty and only this test sends frames, so reading from the beginning sees its traces.
      await consumer.subscribe({ topic: TOPICS.packetTraces, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          traces.push(JSON.parse(message.value?.toString() ?? '{}') as (typeof traces)[number]);
        },
      });
      for (const vm of [a2, b1]) assert.equal((await requestJson('DELETE', `${vm}/traffic/received`)).status, 204);
      const count = 2000;
      const sent = await requestJson<{ sent: number }>('POST', `${a1}/traffic/generate`, {
        to: ['vm-a2'],
        protocol: 'udp',
        count,
        size: 128,
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      const received = await eventually(`${count} frames at vm-a2`, 30_000, async () => {
        const { body } = await requestJson<Received>('GET', `${a2}/traffic/received`);
        return body.total >= count ? body : undefined;
      });
      const fromA1 = Object.values(received.bySource);
      assert.equal(fromA1.length, 1);
      assert.deepEqual(fromA1[0] && { ...fromA1[0], perFlow: undefined, flows: undefined }, {
        received: count,
        duplicates: 0,
        gaps: 0,
        outOfOrder: 0,
        perFlow: undefined,
        flows: undefined,
      });

      // Every frame has been decided by now. Sampled at 0.5, the number traced is binomial (sd 22 for 2000 frames);
      // each sampled trace is published (or, if Kafka faltered, dropped and counted), and every published one is
      // in Kafka. Nothing queued or being sent means the publisher has flushed them all.
      const stats = await eventually('every sampled trace flushed and consumed', 30_000, async () => {
        const { traces: now } = await dataplane();
        const flushed = now.queued === 0 && now.sending === 0;
        return flushed && now.published > 0 && traces.length === now.published ? now : undefined;
      });
      const sampled = stats.published + stats.dropped;
      assert.ok(Math.abs(sampled - count / 2) < 5 * 23, `${sampled} of ${count} frames traced at rate 0.5`);
      assert.ok(traces.every((t) => t.tenant === 'tenant-a' && t.inPort === 'vm-a1' && t.verdict !== 'drop'));
      assert.ok(traces.every((t) => t.headers.srcMac === vmMacAddress('vm-a1')));

      // Tenant A aims at tenant B's VM: the switch handles every frame, and none reaches B.
      const rxBefore = (await dataplane()).counters.ports['vm-a1']?.rxFrames ?? 0;
      await requestJson('POST', `${a1}/traffic/generate`, { to: ['vm-b1'], protocol: 'udp', count: 200, size: 128 });
      await eventually('the switch to handle the 200 frames', 30_000, async () =>
        ((await dataplane()).counters.ports['vm-a1']?.rxFrames ?? 0) >= rxBefore + 200 ? true : undefined,
      );
      // B's own VM vm-b2 then sends vm-b1 a few marker frames, which it must receive. The switch counts a frame as
      // it decides it, within a batch it read before, so the markers, sent after all 200 were counted, are read in
      // a later batch; its loop commits each batch (one MULTI) before it reads the next, so anything of A's that
      // reached vm-b1's rx stream sits there before the markers, and vm-b1 reads its rx stream in order. Once the
      // markers are in vm-b1's report, so is anything of A's that got through.
      const markers = 5;
      const fromB2 = await requestJson('POST', `${urlOf(state, 'vm-b2')}/traffic/generate`, {
        to: ['vm-b1'],
        protocol: 'udp',
        count: markers,
        size: 128,
      });
      assert.equal(fromB2.status, 201, JSON.stringify(fromB2.body));
      const atB = await eventually("the markers from tenant B's own vm-b2 at vm-b1", 30_000, async () => {
        const { body } = await requestJson<Received>('GET', `${b1}/traffic/received`);
        return (body.bySource[vmIpv4Address('vm-b2')]?.received ?? 0) >= markers ? body : undefined;
      });
      assert.deepEqual(
        Object.keys(atB.bySource),
        [vmIpv4Address('vm-b2')],
        'nothing from tenant A reached tenant B: only the markers arrived',
      );
      assert.equal(atB.total, markers, 'nothing from tenant A reached tenant B, not even a malformed frame');
    } finally {
      await consumer.disconnect();
    }
  });

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

    const kafka = createKafkaClient('e2e-trace-garbage', [urlOf(state, 'kafka')], new JsonLogger('e2e', 'error'));
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

  it('finds the heavy flows of a Zipf mix with a tenant program on the switch, as the generator counted them', async () => {
    const [a1, a2, sw] = ['vm-a1', 'vm-a2', 'switch'].map((name) => urlOf(state, name));
    const threshold = 200;
    // The shipped heavy-hitter program, keyed on the flow (source port) instead of the source address: the
    // generator's flows differ by source port, and it reports per flow what it sent.
    const example = JSON.parse(readFileSync(join(REPO_ROOT, 'programs', 'heavy-hitter.json'), 'utf8')) as {
      name: string;
      actions: { ops: { op: string; fields?: string[]; value?: { right?: { const?: number } } }[] }[];
    };
    example.name = 'heavy_flows';
    for (const op of example.actions.flatMap((action) => action.ops)) {
      if (op.fields) op.fields = op.fields.map((field) => (field === 'ipv4.src' ? 'l4.sport' : field));
      if (op.value?.right?.const === 1000) op.value.right.const = threshold;
    }
    const submitted = await requestJson<{ version: number }>('PUT', `${a1}/program`, { program: example });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    await eventually('the switch to run the program', 15_000, async () => {
      const { body } = await labAdminRequest<{ programs: { version: number; tenants: string[] } }>(
        'GET',
        `${sw}/dataplane`,
      );
      return body.programs.version >= submitted.body.version && body.programs.tenants.includes('tenant-a')
        ? true
        : undefined;
    });

    const reported = new Set<number>();
    const kafka = createKafkaClient('e2e-heavy', [urlOf(state, 'kafka')], new JsonLogger('e2e', 'error'));
    const consumer = kafka.consumer({ groupId: `e2e-heavy-${process.pid}-${Date.now()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPICS.programEvents, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const event = JSON.parse(message.value?.toString() ?? '{}') as {
            tenant: string;
            fields: Record<string, number>;
          };
          const port = event.fields['l4.sport'];
          if (event.tenant === 'tenant-a' && port !== undefined) reported.add(Number(port) - 10_000);
        },
      });
      assert.equal((await requestJson('DELETE', `${a2}/traffic/received`)).status, 204);
      const count = 5000;
      const generated = await requestJson<{ sent: number; perFlow: Record<string, number> }>(
        'POST',
        `${a1}/traffic/generate`,
        { to: ['vm-a2'], protocol: 'udp', count, size: 128, flows: 50, zipf: 1.2, seed: 7 },
      );
      assert.equal(generated.status, 201, JSON.stringify(generated.body));
      const heavy = Object.entries(generated.body.perFlow)
        .filter(([, sent]) => sent >= threshold)
        .map(([flow]) => Number(flow))
        .sort((x, y) => x - y);
      assert.ok(heavy.length >= 2 && heavy.length < 50, `a Zipf mix has a few heavy flows: ${heavy.join(',')}`);
      const arrived = async (): Promise<number> =>
        (await requestJson<{ total: number }>('GET', `${a2}/traffic/received`)).body.total;
      await eventually(`all ${count} frames at vm-a2`, 30_000, async () =>
        (await arrived()) >= count ? true : undefined,
      ).catch(async (error: unknown) => {
        const { body } = await labAdminRequest('GET', `${sw}/dataplane`);
        throw new Error(`${String(error)}; ${await arrived()} arrived; switch: ${JSON.stringify(body)}`);
      });
      const found = await eventually('a report for every heavy flow', 30_000, async () =>
        heavy.every((flow) => reported.has(flow)) ? [...reported].sort((x, y) => x - y) : undefined,
      );
      assert.deepEqual(found, heavy, 'the flows reported are exactly the heavy ones');
      // Telemetry keeps the same reports per tenant, for people who do not read Kafka.
      const telemetry = urlOf(state, 'telemetry');
      const kept = await eventually('the reports in telemetry', 30_000, async () => {
        const { status, body } = await labAdminRequest<{
          events: { tenant: string; fields: Record<string, number> }[];
        }>('GET', `${telemetry}/events/tenant-a?event=heavy_hitter&limit=1000`);
        const flows = status === 200 ? body.events.map((e) => Number(e.fields['l4.sport']) - 10_000) : [];
        return heavy.every((flow) => flows.includes(flow)) ? body.events : undefined;
      });
      assert.ok(kept.every((e) => e.tenant === 'tenant-a'));
      const others = await labAdminRequest('GET', `${telemetry}/events/tenant-b`);
      assert.equal(others.status, 404, "tenant B's programs reported nothing: it has no events");
    } finally {
      await consumer.disconnect();
    }
  });

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
    const pids = [lab.child.pid!, ...state.components.map((c) => c.pid)];
    lab.child.kill('SIGINT');
    const code = await lab.exited;
    assert.equal(code, 0, lab.output.join(''));
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
