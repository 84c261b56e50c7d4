import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DASHBOARD_TOKEN_SECRET,
  isProcessAlive,
  labDataDir,
  labSecretFile,
  LabState,
  readLabSecret,
  readLabState,
  type TestLab,
} from '@tenantlab/lab';
import { PORT_KEYS, requestJson, TOPICS, vmIpv4Address, vmMacAddress, withoutCredentials } from '@tenantlab/shared';
import {
  startE2eLab,
  E2E_PROFILE,
  eventually,
  labAdminRequest,
  labKafka,
  LAB_CLI,
  REPO_ROOT,
  urlOf,
} from './lab-process';
import { checkImpairmentRoutesAndCli } from './impairment-routes';
import { describeLabSuite } from './lab-suite';

/**
 * README behaviours of the whole default lab that lab.e2e.spec.ts does not check (see docs/readme-behaviours.md),
 * and the checks shared with the containers tier (lab-suite.ts), here on a local lab. One bring-up for all of them:
 * the lab is costly to start. It uses the same profile and ports as lab.e2e.spec.ts, so the two never run at once
 * (the test runner runs e2e files one at a time, and helpers hold the tests lock).
 */
describe('the default lab keeps the promises of its README', () => {
  let lab: TestLab;
  let state: LabState;

  before(async () => {
    lab = await startE2eLab();
    state = lab.state;
  });

  after(async () => {
    // Only if a test failed before `lab down` ran: never leave a lab behind.
    await lab?.stop();
  });

  // First: its packet test must see the lab's first sampled frames.
  describeLabSuite(() => lab, {
    vmCrash: {
      kill: async (vm) => {
        const pid = readLabState(REPO_ROOT, E2E_PROFILE)?.components.find((c) => c.name === vm)?.pid;
        assert.ok(pid, `${vm} has a process`);
        process.kill(pid, 'SIGKILL');
      },
      // The lab supervises its processes: it starts a VM that exited by itself again.
      start: () => Promise.resolve(),
    },
  });

  it('answers GET /health and GET /ready on every service, naming each dependency it checked', async () => {
    // The OTLP relay answers both too, without dependencies to name (the lab's readiness probe reads its /ready).
    const relays = state.components.filter((c) => c.kind === 'relay');
    assert.deepEqual(
      relays.map((c) => c.name),
      ['otlp-relay'],
    );
    for (const relay of relays) {
      assert.equal((await requestJson('GET', `${relay.url}/health`)).status, 200);
      assert.deepEqual(await requestJson('GET', `${relay.url}/ready`), { status: 200, body: { status: 'ready' } });
    }
    const services = state.components.filter((c) => c.kind !== 'infra' && c.kind !== 'relay');
    assert.deepEqual(services.map((c) => c.name).sort(), [
      'allocator',
      'operator',
      'switch',
      'telemetry',
      'vm-a1',
      'vm-a2',
      'vm-b1',
      'vm-b2',
    ]);
    const dependencies: Record<string, string[]> = {
      operator: ['redis'],
      switch: ['kafka', 'redis'],
      allocator: ['kafka', 'redis'],
      telemetry: ['kafka'],
    };
    for (const service of services) {
      const health = await requestJson<{ status: string }>('GET', `${service.url}/health`);
      assert.deepEqual([health.status, health.body], [200, { status: 'ok' }], service.name);
      const ready = await requestJson<{ ready: boolean; checks: Record<string, { ok: boolean }> }>(
        'GET',
        `${service.url}/ready`,
      );
      assert.equal(ready.status, 200, `${service.name}: ${JSON.stringify(ready.body)}`);
      assert.equal(ready.body.ready, true);
      const names = Object.keys(ready.body.checks);
      for (const dependency of dependencies[service.name] ?? ['redis', 'operator']) {
        assert.ok(names.includes(dependency), `${service.name} checks ${dependency}: ${names.join(', ')}`);
      }
    }
  });

  it(
    'binds every service and Redis, Kafka and Jaeger to 127.0.0.1 only',
    { skip: process.platform !== 'linux' },
    () => {
      // /proc/net/tcp{,6} list listening sockets (state 0A) with their local address in hex, port after the colon.
      const listening = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .slice(1)
          .map((line) => line.trim().split(/\s+/))
          .filter((fields) => fields[3] === '0A')
          .map((fields) => {
            const [address = '', port = ''] = (fields[1] ?? '').split(':');
            return { address, port: parseInt(port, 16) };
          }),
      );
      for (const component of state.components) {
        const port = Number(new URL(component.url.includes('//') ? component.url : `tcp://${component.url}`).port);
        const sockets = listening.filter((socket) => socket.port === port);
        assert.ok(sockets.length > 0, `${component.name} listens on ${port}`);
        // 127.0.0.1 is 0100007F little-endian, and ::ffff:127.0.0.1 (Java's IPv6 socket) ends in it; anything
        // else (0.0.0.0, ::) would take connections from outside.
        const loopback = new Set(['0100007F', '0000000000000000FFFF00000100007F']);
        const open = sockets.filter((socket) => !loopback.has(socket.address)).map((socket) => socket.address);
        assert.deepEqual(open, [], `${component.name} on port ${port}`);
      }
    },
  );

  it('shows each component with its URL, readiness and memory in `lab status --json`', async () => {
    const result = await runLab(['status', '--json', '--profile', E2E_PROFILE]);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      components: { name: string; url: string; ready: boolean; rssBytes?: number }[];
    };
    assert.equal(report.components.length, state.components.length);
    for (const component of report.components) {
      // The plain URL: a VM's control token (in the URL the tests drive it with) is never shown.
      assert.equal(component.url, withoutCredentials(urlOf(state, component.name)));
      assert.doesNotMatch(component.url, /@/);
      assert.equal(component.ready, true, component.name);
      assert.ok((component.rssBytes ?? 0) > 1024 * 1024, `${component.name} holds ${component.rssBytes} bytes`);
    }
  });

  it('publishes the counters to switch.counters every COUNTERS_INTERVAL_MS (5000 by default)', async () => {
    const received: { timestamp: number; key: string; counters?: unknown; flowCache?: unknown }[] = [];
    const kafka = labKafka(state, 'e2e-counters');
    const consumer = kafka.consumer({ groupId: `e2e-counters-${process.pid}-${Date.now()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPICS.switchCounters, fromBeginning: false });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const body = JSON.parse(message.value?.toString() ?? '{}') as { counters?: unknown; flowCache?: unknown };
          received.push({ ...body, timestamp: Number(message.timestamp), key: message.key?.toString() ?? '' });
        },
      });
      await eventually('four messages on switch.counters', 40_000, async () =>
        received.length >= 4 ? true : undefined,
      );
    } finally {
      await consumer.disconnect();
    }
    for (const message of received) {
      assert.equal(message.key, 'switch');
      assert.ok(message.counters && typeof message.counters === 'object', 'each message holds the counters');
      assert.ok(message.flowCache !== undefined, 'and the flow cache figures');
    }
    // Kafka's timestamps: the mean gap over the messages seen, loose enough for a busy machine.
    const gap = (received.at(-1)!.timestamp - received[0].timestamp) / (received.length - 1);
    assert.ok(gap > 2500 && gap < 10_000, `counters every ${gap.toFixed(0)} ms`);
  });

  it("shows each VM's vNIC: its id, MAC and IPv4 derived from the id, its port streams and counters", async () => {
    for (const vm of ['vm-a1', 'vm-b2']) {
      const { status, body } = await requestJson<Record<string, unknown>>('GET', `${urlOf(state, vm)}/vnic`);
      assert.equal(status, 200);
      assert.deepEqual(
        { vm: body['vm'], mac: body['mac'], ipv4: body['ipv4'], tx: body['tx'], rx: body['rx'] },
        { vm, mac: vmMacAddress(vm), ipv4: vmIpv4Address(vm), tx: PORT_KEYS.tx(vm), rx: PORT_KEYS.rx(vm) },
      );
      assert.equal(typeof (body['sent'] as { frames?: unknown }).frames, 'number');
      assert.equal(typeof (body['received'] as { frames?: unknown }).frames, 'number');
      assert.equal(body['receiverProblem'], undefined, 'the receiver is reading');
    }
  });

  it('runs one traffic generation at a time per VM (409 for a second), and shows the switch figures it made', async () => {
    const [a1, a2, sw, telemetry] = ['vm-a1', 'vm-a2', 'switch', 'telemetry'].map((name) => urlOf(state, name));
    assert.equal((await labAdminRequest('PUT', `${sw}/tenants/tenant-a/sampling`, { rate: 1 })).status, 200);
    try {
      // Paced to 200 frames/s, the first run takes about 2 s: long enough for the second request to find it going.
      const first = requestJson('POST', `${a1}/traffic/generate`, {
        to: ['vm-a2'],
        protocol: 'udp',
        count: 400,
        size: 128,
        ratePps: 200,
      });
      const second = await requestJson<{ error: { code: string } }>('POST', `${a1}/traffic/generate`, {
        to: ['vm-a2'],
        protocol: 'udp',
        count: 1,
        size: 64,
      });
      assert.deepEqual([second.status, second.body.error.code], [409, 'CONFLICT']);
      assert.equal((await first).status, 201);
      const after = await requestJson('POST', `${a1}/traffic/generate`, {
        to: ['vm-a2'],
        protocol: 'udp',
        count: 1,
        size: 64,
      });
      assert.equal(after.status, 201, 'the next run starts once the first has answered');
    } finally {
      assert.equal((await labAdminRequest('PUT', `${sw}/tenants/tenant-a/sampling`, { rate: 0.01 })).status, 200);
    }
    await eventually('vm-a2 to receive the 401 frames', 30_000, async () => {
      const { body } = await requestJson<{ total: number }>('GET', `${a2}/traffic/received`);
      return body.total >= 401 ? true : undefined;
    });

    // GET /dataplane: flow cache figures as `ovs-dpctl show` prints them, and per-port and per-tenant counters.
    const { body: dataplane } = await labAdminRequest<{
      lookups: string;
      flowCache: { hits: number; misses: number; evictions: number; invalidations: number; flows: number };
      counters: { ports: Record<string, { rxFrames: number }>; tenants: Record<string, { rxFrames: number }> };
    }>('GET', `${sw}/dataplane`);
    const cache = dataplane.flowCache;
    assert.equal(dataplane.lookups, `hit:${cache.hits} missed:${cache.misses} lost:${cache.evictions}`);
    assert.ok(cache.hits > 0 && cache.flows > 0 && cache.invalidations >= 0, JSON.stringify(cache));
    assert.ok((dataplane.counters.ports['vm-a1']?.rxFrames ?? 0) >= 401);
    assert.ok((dataplane.counters.tenants['tenant-a']?.rxFrames ?? 0) >= 401);

    // GET /traces/:tenant?limit=N: that tenant's latest N traces, newest last.
    const latest = await eventually("tenant-a's traces in telemetry", 30_000, async () => {
      const { status, body } = await labAdminRequest<{
        tenant: string;
        traces: { message: { tenant: string; inPort?: string } }[];
      }>('GET', `${telemetry}/traces/tenant-a?limit=5`);
      return status === 200 && body.traces.length === 5 ? body : undefined;
    });
    assert.equal(latest.tenant, 'tenant-a');
    assert.ok(
      latest.traces.every((t) => t.message.tenant === 'tenant-a' && t.message.inPort === 'vm-a1'),
      JSON.stringify(latest.traces),
    );
  });

  it("stamps the services' JSON log lines with the trace_id of the request they belong to", () => {
    // The operator logs each VM's registration; the lab keeps every process's log in .lab/<profile>/logs.
    const logs = join(labDataDir(REPO_ROOT, E2E_PROFILE), 'logs');
    const stamped = readdirSync(logs)
      .filter((name) => /^(operator|vm-a1)/.test(name))
      .flatMap((name) => readFileSync(join(logs, name), 'utf8').split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { trace_id?: string; msg?: string });
    assert.ok(stamped.length > 0, 'the logs hold JSON lines');
    assert.ok(
      stamped.some((line) => /^[0-9a-f]{32}$/.test(line.trace_id ?? '')),
      `a line with a trace_id: ${JSON.stringify(stamped.slice(0, 5))}`,
    );
  });

  it('lists its commands with `lab help`', async () => {
    const result = await runLab(['help']);
    assert.equal(result.status, 0);
    for (const command of ['up', 'status', 'down', 'install', 'help']) {
      assert.match(result.stdout, new RegExp(`^\\s+${command}\\s`, 'm'), `help lists ${command}`);
    }
    for (const option of ['--profile', '--port-offset', '--json']) assert.ok(result.stdout.includes(option), option);
  });

  it('keeps the dashboard token in an owner-only file and prints where it is, never the token', async () => {
    const dataDir = labDataDir(REPO_ROOT, E2E_PROFILE);
    const token = readLabSecret(dataDir, DASHBOARD_TOKEN_SECRET);
    assert.ok(token, 'lab up made a dashboard token');
    const file = labSecretFile(dataDir, DASHBOARD_TOKEN_SECRET);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // The hint comes after the ready table, which may be after the state file the lab's start waited for.
    const hint = `log in with the token in ${file}`;
    const printed = await eventually('lab up to say where the dashboard token is', 30_000, async () => {
      const output = lab.runner?.output.join('') ?? '';
      return Promise.resolve(output.includes(hint) ? output : undefined);
    });
    assert.ok(!printed.includes(token), 'lab up printed the dashboard token');
  });

  it('impairs a port with `lab impair`, `--show`, `--clear`; 400 for a bad spec, 404 without a port, DELETE 200 for none', () =>
    checkImpairmentRoutesAndCli(state, 'vm-a2', runLab));

  it('stops with `lab down` from another terminal: the runner exits, no process and no state file left', async () => {
    const runner = lab.runner!;
    // As the state file has them now: a process the lab started again has a new pid.
    const now = readLabState(REPO_ROOT, E2E_PROFILE) ?? state;
    const pids = [runner.pid, ...now.components.map((c) => c.pid)];
    const started = Date.now();
    const { status: code, stdout, stderr } = await runLab(['down', '--profile', E2E_PROFILE]);
    const runnerCode = await runner.exited;
    const what = `after ${Date.now() - started} ms: ${stdout}${stderr}\n${runner.output.join('').slice(-2000)}`;
    assert.equal(code, 0, `lab down ${what}`);
    assert.equal(runnerCode, 0, `the runner ${what}`);
    await eventually('every lab process gone', 30_000, async () =>
      pids.every((pid) => !isProcessAlive(pid)) ? true : undefined,
    );
    assert.equal(existsSync(join(labDataDir(REPO_ROOT, E2E_PROFILE), 'lab.json')), false);
  });
});

/**
 * Runs the lab CLI without blocking this process (spawnSync would): the tests' HTTP keep-alive sockets and the lab
 * runner's output pipes must be served meanwhile, or a socket the server closed is reused and hangs up.
 */
function runLab(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [LAB_CLI, ...args], { cwd: REPO_ROOT });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return new Promise((done) =>
    child.once('close', (status) => done({ status, stdout: stdout.join(''), stderr: stderr.join('') })),
  );
}
