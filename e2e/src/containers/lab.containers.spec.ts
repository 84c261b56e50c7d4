import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  composeCommand,
  CPU_CGROUP_ROOT,
  cpuGroupOf,
  dockerBinary,
  dockerCpuGroupsUnavailable,
  engineCgroupDriver,
  labDataDir,
  OPERATOR_CONNECTIONS_PER_ADDRESS,
  readLabSecret,
  startTestLab,
  TENANT_FACING_PIDS_LIMIT,
  type TestLab,
  VM_CPU_SHARES,
} from '@tenantlab/lab';
import { requestJson, TOPICS, VM_BASE_PORT, withoutCredentials } from '@tenantlab/shared';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { findTraces, type JaegerTrace } from '../jaeger-api';
import { CONTAINERS_PORT_OFFSET, eventually, LAB_CLI, REPO_ROOT } from '../lab-process';
import { otlpExport } from '../otlp-export';
import { describeLabSuite } from '../lab-suite';

const PROFILE = 'containers';
/** The lab's CPU group, from the cpu controller's root (docker-cpu-groups.ts). */
const LAB_CPU_GROUP = `/docker/tenantlab-${PROFILE}`;
const PORT_OFFSET = CONTAINERS_PORT_OFFSET;

function docker(...args: string[]): string {
  const result = spawnSync(dockerBinary(), args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * From inside a container, tries a TCP connection to each host:port (1.5 s each) with the container's own Node, and
 * reports which connected: a name that does not resolve or an address that does not answer counts as unreachable.
 */
function reachableFrom(container: string, targets: string[]): Record<string, boolean> {
  const script = `
    const net = require('node:net');
    const targets = ${JSON.stringify(targets)};
    Promise.all(targets.map((t) => new Promise((done) => {
      const [host, port] = t.split(':');
      const socket = net.connect({ host, port: Number(port), timeout: 1500 });
      socket.once('connect', () => { socket.destroy(); done([t, true]); });
      socket.once('timeout', () => { socket.destroy(); done([t, false]); });
      socket.once('error', () => done([t, false]));
    }))).then((results) => console.log(JSON.stringify(Object.fromEntries(results))));`;
  return JSON.parse(docker('exec', container, 'node', '-e', script)) as Record<string, boolean>;
}

/**
 * Every port the Jaeger v2 all-in-one config (the image's built-in one) opens: OTLP, the query API and UI (HTTP and
 * gRPC), health check, its own metrics, remote sampling, the Jaeger and Zipkin receivers, expvar and zpages.
 */
const JAEGER_PORTS = [4317, 4318, 16686, 16685, 13133, 8888, 5778, 5779, 14250, 14268, 9411, 27777, 55679];

/** From inside a container, one HTTP request with its own Node's fetch: the status, or 0 if it could not connect. */
function httpFrom(
  container: string,
  url: string,
  init: { method: string; body?: Buffer; headers?: Record<string, string> },
): number {
  const script = `
    const body = ${JSON.stringify(init.body?.toString('base64') ?? null)};
    fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(init.method)},
      headers: { 'content-type': 'application/x-protobuf', ...${JSON.stringify(init.headers ?? {})} },
      body: body === null ? undefined : Buffer.from(body, 'base64'), signal: AbortSignal.timeout(5000) })
      .then((r) => console.log(r.status), () => console.log(0));`;
  return Number(docker('exec', container, 'node', '-e', script));
}

/** Kafka's refusals: a failed SASL handshake or authentication, or the authorizer's "not authorized". */
const REFUSED = /SASL|authentication|AUTHORIZATION_FAILED|not authorized|closed connection|connection closed/i;

interface ProduceAttempt {
  label: string;
  /** `own`: the container's own Kafka user (KAFKA_USERNAME, KAFKA_PASSWORD_FILE); `made-up`: one the broker never had. */
  as: 'anonymous' | 'own' | 'made-up';
  topic: string;
}

/**
 * From inside a container on the lab's core network, each attempt produces one message to kafka:9092 with the
 * container's own Node and kafkajs, and reports `produced` or the error. The container's password never leaves it
 * (the script reads its secret file), and a made-up user's is drawn inside.
 */
function produceFrom(container: string, attempts: ProduceAttempt[]): Record<string, string> {
  const script = `
    const { Kafka, logLevel } = require('kafkajs');
    const { randomBytes } = require('node:crypto');
    const { readFileSync } = require('node:fs');
    const attempts = ${JSON.stringify(attempts)};
    const sasl = (as) => as === 'own'
      ? { mechanism: 'scram-sha-512', username: process.env.KAFKA_USERNAME,
          password: readFileSync(process.env.KAFKA_PASSWORD_FILE, 'utf8').trim() }
      : as === 'made-up'
        ? { mechanism: 'scram-sha-512', username: 'vm-a1', password: randomBytes(24).toString('hex') }
        : undefined;
    (async () => {
      const results = {};
      for (const { label, as, topic } of attempts) {
        const credentials = sasl(as);
        const kafka = new Kafka({ clientId: 'containers-test', brokers: ['kafka:9092'], logLevel: logLevel.NOTHING,
          connectionTimeout: 3000, retry: { retries: 2, initialRetryTime: 200 }, ...(credentials ? { sasl: credentials } : {}) });
        const producer = kafka.producer({ retry: { retries: 2 } });
        try {
          await producer.connect();
          await producer.send({ topic, messages: [{ key: 'tenant-a', value: 'forged' }] });
          results[label] = 'produced';
        } catch (error) {
          results[label] = 'refused: ' + error.message + ' ' + (error.cause ? error.cause.type : '');
        } finally {
          await producer.disconnect().catch(() => undefined);
        }
      }
      console.log(JSON.stringify(results));
    })();`;
  const lines = docker('exec', container, 'node', '-e', script).split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, string>;
}

/** From the host, one message to the broker's published port: `produced` or the error. */
async function produceFromHost(brokers: string, sasl?: { username: string; password: string }): Promise<string> {
  const kafka = new Kafka({
    clientId: 'containers-test-host',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2, initialRetryTime: 200 },
    ...(sasl ? { sasl: { mechanism: 'scram-sha-512' as const, ...sasl } } : {}),
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 2 } });
  try {
    await producer.connect();
    await producer.send({ topic: TOPICS.switchCounters, messages: [{ key: 'tenant-a', value: 'forged' }] });
    return 'produced';
  } catch (error) {
    return `refused: ${String(error)}`;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

describe('the default lab in containers (Docker mode, Testcontainers)', () => {
  let lab: TestLab;

  before(
    async () => {
      lab = await startTestLab({ repoRoot: REPO_ROOT, mode: 'docker', profile: PROFILE, portOffset: PORT_OFFSET });
    },
    { timeout: 420_000 },
  );

  after(async () => {
    await lab?.stop();
    const left = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=tenantlab-${PROFILE}`);
    const networks = docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=tenantlab-${PROFILE}`);
    const volumes = docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=tenantlab-${PROFILE}`);
    assert.deepEqual([left, networks, volumes], ['', '', ''], 'stop() leaves no container, network or volume');
    assert.equal(existsSync(join(CPU_CGROUP_ROOT, LAB_CPU_GROUP)), false, "stop() removes the tenants' CPU groups");
  });

  it('runs one healthy container per component, each VM its own, as `lab status --json` reports', async () => {
    const result = spawnSync(process.execPath, [LAB_CLI, 'status', '--json', '--profile', PROFILE], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    const report = JSON.parse(result.stdout) as { components: { name: string; ready: boolean; rssBytes?: number }[] };
    assert.deepEqual(report.components.map((c) => c.name).sort(), [
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
    assert.deepEqual(
      report.components.filter((c) => !c.ready).map((c) => c.name),
      [],
    );
    assert.ok(
      report.components.every((c) => (c.rssBytes ?? 0) > 0),
      'memory of every container from docker stats',
    );
    const ids = await Promise.all(['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2'].map((vm) => lab.containerId(vm)));
    assert.equal(new Set(ids).size, 4);
    for (const id of ids) assert.equal(docker('inspect', '--format', '{{ .State.Health.Status }}', id), 'healthy');
    // Each VM at a CPU weight below the shared services', which keep the default (vm-priority.ts).
    for (const id of ids) assert.equal(docker('inspect', '--format', '{{ .HostConfig.CpuShares }}', id), '110');
    const switchId = await lab.containerId('switch');
    assert.equal(docker('inspect', '--format', '{{ .HostConfig.CpuShares }}', switchId), '0', 'the default');
  });

  it("puts each VM container in its tenant's CPU group, the tenants weighed the same, the services in Docker's own", async () => {
    const unavailable = dockerCpuGroupsUnavailable(engineCgroupDriver());
    const vms = { 'vm-a1': 'tenant-a', 'vm-a2': 'tenant-a', 'vm-b1': 'tenant-b', 'vm-b2': 'tenant-b' };
    for (const [vm, tenant] of Object.entries(vms)) {
      const id = await lab.containerId(vm);
      const pid = Number(docker('inspect', '--format', '{{ .State.Pid }}', id));
      if (unavailable !== undefined) {
        // An engine the lab cannot make groups for: each container where Docker puts it, weighed on its own.
        assert.ok(!(cpuGroupOf(pid) ?? '').includes('tenantlab-'), `${vm} (${unavailable}): ${cpuGroupOf(pid)}`);
        continue;
      }
      const group = `${LAB_CPU_GROUP}/${tenant}`;
      assert.equal(docker('inspect', '--format', '{{ .HostConfig.CgroupParent }}', id), group, vm);
      assert.equal(cpuGroupOf(pid), `${group}/${id}`, `${vm}'s process is in its own group inside its tenant's`);
      assert.equal(readFileSync(join(CPU_CGROUP_ROOT, group, 'cpu.shares'), 'utf8').trim(), '1024', tenant);
    }
    if (unavailable === undefined) {
      // The lab's group weighs what its four VM containers weighed one each, beside the services' containers.
      const labShares = readFileSync(join(CPU_CGROUP_ROOT, LAB_CPU_GROUP, 'cpu.shares'), 'utf8').trim();
      assert.equal(labShares, String(4 * VM_CPU_SHARES));
      const switchId = await lab.containerId('switch');
      const switchPid = Number(docker('inspect', '--format', '{{ .State.Pid }}', switchId));
      assert.equal(cpuGroupOf(switchPid), `/docker/${switchId}`);
    }
  });

  it('lets no code in a VM container fork past its pids limit, hold or gain a capability, or change its image, and the VM keeps serving', async () => {
    const vm = await lab.containerId('vm-a1');
    for (const name of ['vm-a1', 'vm-b2', 'otlp-relay', 'operator', 'switch', 'allocator', 'telemetry']) {
      const id = await lab.containerId(name);
      assert.equal(
        docker(
          'inspect',
          '--format',
          '{{ .HostConfig.PidsLimit }} {{ .HostConfig.CapDrop }} {{ .HostConfig.SecurityOpt }} {{ .HostConfig.ReadonlyRootfs }}',
          id,
        ),
        `${TENANT_FACING_PIDS_LIMIT} [ALL] [no-new-privileges:true] true`,
        name,
      );
    }
    // The services run as the image's node user with none either (and serve: the lab got ready with these limits).
    for (const name of ['operator', 'switch']) {
      const status = docker('exec', await lab.containerId(name), 'cat', '/proc/self/status');
      assert.match(status, /CapEff:\s+0{16}\n/, `${name}: CapEff`);
      assert.match(status, /NoNewPrivs:\s+1\n/, `${name}: no new privileges`);
    }
    // As the VM's own user, and as root in its container (what a tenant that broke out of Node would be): no capability.
    for (const user of ['node', 'root']) {
      const status = docker('exec', '--user', user, vm, 'cat', '/proc/self/status');
      for (const set of ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
        assert.match(status, new RegExp(`${set}:\\s+0{16}\\n`), `${user}: ${set}`);
      }
      assert.match(status, /NoNewPrivs:\s+1\n/, `${user}: no new privileges`);
      // The image's files are read-only, root's too; only /tmp (a small tmpfs) takes writes.
      const write = spawnSync(dockerBinary(), ['exec', '--user', user, vm, 'touch', '/app/planted'], {
        encoding: 'utf8',
      });
      assert.notEqual(write.status, 0);
      assert.match(write.stderr, /Read-only file system/, `${user}: ${write.stderr}`);
      docker('exec', '--user', user, vm, 'touch', `/tmp/${user}`);
    }
    // A fork bomb, bounded: 2 x the limit of 2 s sleeps, spawned by Node in the VM container; the spawns past the
    // limit fail (EAGAIN), none outlives its 2 s.
    const script = `
      const { spawn } = require('node:child_process');
      const tally = { started: 0, refused: 0, other: [] };
      for (let i = 0; i < ${2 * TENANT_FACING_PIDS_LIMIT}; i++) {
        const child = spawn('sleep', ['2'], { stdio: 'ignore' });
        child.on('spawn', () => tally.started++);
        child.on('error', (e) => (e.code === 'EAGAIN' ? tally.refused++ : tally.other.push(e.code)));
      }
      setTimeout(() => console.log(JSON.stringify(tally)), 2500);`;
    const tally = JSON.parse(docker('exec', vm, 'node', '-e', script)) as { started: number; refused: number };
    assert.ok(tally.started < TENANT_FACING_PIDS_LIMIT, `spawned: ${JSON.stringify(tally)}`);
    assert.equal(tally.started + tally.refused, 2 * TENANT_FACING_PIDS_LIMIT, JSON.stringify(tally));
    const url = withoutCredentials(lab.state.components.find((c) => c.name === 'vm-a1')?.url ?? '');
    await eventually('vm-a1 ready again after the fork bomb', 30_000, async () =>
      (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined,
    );
  });

  it("gets a VM's connections to the operator past its limit closed at once, while another tenant's VM is served", async () => {
    const flooder = await lab.containerId('vm-a1');
    const bystander = await lab.containerId('vm-b1');
    const attempts = 4 * OPERATOR_CONNECTIONS_PER_ADDRESS;
    // Opens `attempts` connections at once, each asking GET /health; says "held" once each was answered (kept) or
    // closed unanswered (refused), keeps the kept ones open until its stdin closes, then prints the tally.
    const script = `
      const net = require('node:net');
      const tally = { kept: 0, refused: 0 };
      const sockets = [];
      let settled = 0;
      for (let i = 0; i < ${attempts}; i++) {
        const socket = net.connect({ host: 'operator', port: 3000 });
        sockets.push(socket);
        let done = false;
        const settle = (kept) => {
          if (done) return;
          done = true;
          tally[kept ? 'kept' : 'refused']++;
          if (++settled === ${attempts}) console.log('held');
        };
        socket.on('connect', () => socket.write('GET /health HTTP/1.1\\r\\nHost: operator\\r\\n\\r\\n'));
        socket.on('data', () => settle(true));
        socket.on('close', () => settle(false));
        socket.on('error', () => settle(false));
      }
      process.stdin.on('end', () => { console.log(JSON.stringify(tally)); process.exit(0); });
      process.stdin.resume();`;
    const flood = spawn(dockerBinary(), ['exec', '-i', flooder, 'node', '-e', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    const held = new Promise<void>((resolve, reject) => {
      flood.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('held')) resolve();
      });
      flood.once('exit', (code) => reject(new Error(`the flood exited (${code}) before holding: ${output}`)));
    });
    try {
      await held;
      // Meanwhile tenant-b's VM still gets answers from the operator.
      const answer = docker(
        'exec',
        bystander,
        'node',
        '-e',
        "fetch('http://operator:3000/health').then((r) => console.log(r.status), (e) => console.log(e.message))",
      );
      assert.equal(answer, '200', "tenant-b's VM served while tenant-a's holds its connections");
    } finally {
      flood.stdin.end();
    }
    await new Promise((resolve) => flood.once('exit', resolve));
    const tally = JSON.parse(output.split('\n').filter(Boolean).at(-1) ?? '{}') as { kept: number; refused: number };
    // The VM's own process holds a few of its address's connections (heartbeats): at most the limit are kept.
    assert.ok(tally.kept <= OPERATOR_CONNECTIONS_PER_ADDRESS && tally.kept > 0, JSON.stringify(tally));
    assert.equal(tally.kept + tally.refused, attempts, JSON.stringify(tally));
  });

  it("refuses, from one tenant's VM container, another VM's control API without that VM's own control token", async () => {
    const vm = await lab.containerId('vm-a1');
    // vm-a1's own control token: what the lab sends it, so what code in it could hold.
    const ownToken = new URL(lab.state.components.find((c) => c.name === 'vm-a1')?.url ?? '').password;
    const statuses = ['vm-b1', 'vm-a2'].flatMap((target) =>
      ([{}, { authorization: `Bearer ${ownToken}` }] as Record<string, string>[]).map((headers) =>
        httpFrom(vm, `http://${target}:${VM_BASE_PORT}/traffic/received`, { method: 'GET', headers }),
      ),
    );
    assert.deepEqual(statuses, [401, 403, 401, 403], 'vm-b1 and vm-a2: no token, then vm-a1 own');
    assert.equal(httpFrom(vm, `http://vm-b1:${VM_BASE_PORT}/health`, { method: 'GET' }), 200, 'health stays open');
  });

  it('lets a VM reach Redis, the operator and the OTLP relay, and nothing of the trusted side or of Jaeger', async () => {
    const vm = await lab.containerId('vm-a1');
    const addressOf = async (name: string): Promise<string> =>
      docker(
        'inspect',
        '--format',
        '{{ range .NetworkSettings.Networks }}{{ .IPAddress }} {{ end }}',
        await lab.containerId(name),
      ).split(' ')[0] ?? '';
    const trusted: [string, number][] = [
      ['switch', 3001],
      ['allocator', 3002],
      ['telemetry', 3003],
      ['kafka', 9092],
      // Jaeger's query API serves every tenant's traces without a credential: a VM exports through the relay only.
      ...JAEGER_PORTS.map((port): [string, number] => ['jaeger', port]),
    ];
    const jaegerAddress = await addressOf('jaeger');
    const byAddress = await Promise.all(
      trusted.map(async ([name, port]) => `${name === 'jaeger' ? jaegerAddress : await addressOf(name)}:${port}`),
    );
    const results = reachableFrom(vm, [
      'redis:6379',
      'operator:3000',
      'otlp-relay:4318',
      ...trusted.map(([name, port]) => `${name}:${port}`),
      ...byAddress,
    ]);
    assert.deepEqual(
      Object.entries(results)
        .filter(([, ok]) => ok)
        .map(([target]) => target),
      ['redis:6379', 'operator:3000', 'otlp-relay:4318'],
      `reachable from vm-a1 (trusted side by name and by address ${byAddress.join(', ')})`,
    );
  });

  /**
   * Every secret value of the profile: each lab secret file (.lab/<profile>/) and each file the lab mounts into
   * containers (the Redis URL and config, the callers' token lists), so a value found anywhere is one of the lab's.
   */
  function labSecretValues(): string[] {
    const dataDir = labDataDir(REPO_ROOT, PROFILE);
    const own = readdirSync(dataDir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && /^[a-z0-9][a-z0-9-]*$/.test(entry.name))
      .map((entry) => readLabSecret(dataDir, entry.name))
      .filter((value): value is string => value !== undefined);
    // The files the lab mounts (container-secrets.ts), when it mounts any: the profile's own secrets are checked anyway.
    const mountedDir = join(dataDir, 'container-secrets');
    const mounted = existsSync(mountedDir)
      ? readdirSync(mountedDir).map((name) => readFileSync(join(mountedDir, name), 'utf8').trim())
      : [];
    return [...new Set([...own, ...mounted])];
  }

  it("shows none of the lab's secrets in any container's environment or command (`docker inspect`)", () => {
    const values = labSecretValues();
    // Redis admin password, 5 service tokens, admin token, dashboard and metrics tokens, 2 tenants' secrets, and more.
    assert.ok(values.length >= 11, `the profile's secrets: ${values.length}`);
    const ids = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=tenantlab-${PROFILE}`).split('\n');
    const inspected = ids.map(
      (id) =>
        JSON.parse(docker('inspect', '--format', '{{ json .Config }}', id)) as {
          Env: string[];
          Cmd: string[] | null;
          Labels: Record<string, string>;
        },
    );
    const services = inspected.map((config) => config.Labels['com.docker.compose.service'] ?? '?');
    // Every container of the lab, the one-shot kafka-setup too.
    assert.ok(inspected.length >= 13, `containers: ${services.join(', ')}`);
    const holds = (text: string): boolean => values.some((value) => text.includes(value));
    const leaks = inspected.flatMap((config, index) => [
      ...config.Env.filter(holds).map((entry) => `${services[index]}: env ${entry.split('=')[0]}`),
      ...(config.Cmd ?? []).filter(holds).map(() => `${services[index]}: its command`),
    ]);
    assert.deepEqual(leaks, [], 'a secret value in Config.Env or Config.Cmd');
  });

  it("mounts into a VM only its own tenant's enrollment secret, readable by the VM and by no other user", async () => {
    const dataDir = labDataDir(REPO_ROOT, PROFILE);
    for (const [vm, tenant] of [
      ['vm-a1', 'tenant-a'],
      ['vm-b1', 'tenant-b'],
    ] as const) {
      const container = await lab.containerId(vm);
      assert.deepEqual(docker('exec', container, 'ls', '-A', '/run/secrets').split('\n'), [`tenant-secret-${tenant}`]);
      const file = `/run/secrets/tenant-secret-${tenant}`;
      assert.equal(docker('exec', container, 'cat', file), readLabSecret(dataDir, `tenant-secret-${tenant}`), vm);
      assert.equal(docker('exec', container, 'stat', '-c', '%a', file), '640', `${vm}: not world-readable`);
    }
  });

  it("carries a VM's spans to Jaeger through the relay, pinned to that VM whatever it claims, and no query", async () => {
    const vm = await lab.containerId('vm-a1');
    const jaeger = lab.clients.jaeger.url;
    // The VMs' own instrumentation: their spans reach Jaeger (the relay is their only way there), one per VM.
    const instances = await eventually("every VM's own spans in Jaeger", 60_000, async () => {
      const query = new URLSearchParams({ service: 'tenant-vm', limit: '200', lookback: '1h' });
      const { body } = await requestJson<{ data?: JaegerTrace[] }>('GET', `${jaeger}/api/traces?${query.toString()}`);
      const traces = body.data ?? [];
      const seen = new Set(
        traces.flatMap((t) =>
          Object.values(t.processes).flatMap((p) =>
            (p.tags ?? []).filter((x) => x.key === 'service.instance.id').map((x) => String(x.value)),
          ),
        ),
      );
      return ['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2'].every((name) => seen.has(name))
        ? [...seen].filter((name) => name.startsWith('vm-')).sort()
        : undefined;
    });
    assert.deepEqual(instances, ['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2']);
    // vm-a1 poses as the operator and as vm-b1 of tenant B: Jaeger holds the span as vm-a1's, of tenant A.
    const operation = `forged-${randomBytes(6).toString('hex')}`;
    const forged = await otlpExport(
      { 'service.name': 'operator', 'service.instance.id': 'vm-b1', 'tenantlab.tenant.id': 'tenant-b' },
      operation,
    );
    assert.equal(httpFrom(vm, 'http://otlp-relay:4318/v1/traces', { method: 'POST', body: forged }), 200);
    const [trace] = await eventually('the forged span in Jaeger', 30_000, async () => {
      const found = await findTraces(jaeger, 'tenant-vm', operation);
      return found.length > 0 ? found : undefined;
    });
    const holder = Object.values(trace?.processes ?? {})[0];
    const tags = Object.fromEntries((holder?.tags ?? []).map((t) => [t.key, t.value]));
    assert.equal(holder?.serviceName, 'tenant-vm');
    assert.equal(tags['service.instance.id'], 'vm-a1');
    assert.equal(tags['tenantlab.tenant.id'], 'tenant-a');
    assert.deepEqual(await findTraces(jaeger, 'operator', operation), []);
    // Through the relay, nothing of Jaeger's query API.
    assert.equal(httpFrom(vm, 'http://otlp-relay:4318/api/traces?service=operator', { method: 'GET' }), 404);
    assert.equal(httpFrom(vm, 'http://otlp-relay:4318/api/services', { method: 'GET' }), 404);
  });

  describeLabSuite(() => lab, {
    vmCrash: {
      kill: async (vm) => {
        docker('kill', await lab.containerId(vm));
      },
      // Docker restarts it by its restart policy unless the kill counted as a manual stop; start it either way.
      start: async (vm) => {
        const container = await lab.containerId(vm);
        if (docker('inspect', '--format', '{{ .State.Running }}', container) !== 'true') docker('start', container);
      },
    },
  });

  it("fails Kafka's health check while the broker does not serve, though its port still takes connections", async () => {
    const kafka = await lab.containerId('kafka');
    const [kind, ...check] = JSON.parse(
      docker('inspect', '--format', '{{ json .Config.Healthcheck.Test }}', kafka),
    ) as [string, ...string[]];
    assert.equal(kind, 'CMD');
    const passes = (command: string[]): boolean =>
      spawnSync(dockerBinary(), ['exec', kafka, ...command], { stdio: 'ignore', timeout: 30_000 }).status === 0;
    assert.equal(passes(check), true, 'healthy while the broker serves');
    // Frozen, the broker answers nothing, but the kernel still accepts connections on its listening socket.
    const broker = Number(docker('inspect', '--format', '{{ .State.Pid }}', kafka));
    process.kill(broker, 'SIGSTOP');
    try {
      assert.equal(passes(['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/9092']), true, 'the port takes connections');
      assert.equal(passes(check), false, 'the health check fails while the broker does not answer');
    } finally {
      process.kill(broker, 'SIGCONT');
    }
    await eventually('the health check to pass again', 30_000, async () => (passes(check) ? true : undefined));
  });

  // After the lab suite: its packet test reads the trace topic from the beginning and must find only real traces.
  it("refuses an anonymous client and a made-up user, on the lab's network and on the host port", async () => {
    const results = produceFrom(await lab.containerId('switch'), [
      { label: 'anonymous', as: 'anonymous', topic: TOPICS.packetTraces },
      { label: 'made-up user', as: 'made-up', topic: TOPICS.packetTraces },
      // The same client as itself may: the refusals are the broker's, not a broken script or network.
      { label: 'switch as itself', as: 'own', topic: TOPICS.switchCounters },
    ]);
    assert.match(results['anonymous'] ?? '', REFUSED);
    assert.match(results['made-up user'] ?? '', REFUSED);
    assert.equal(results['switch as itself'], 'produced');
    assert.match(await produceFromHost(lab.clients.kafkaBrokers), REFUSED);
    const madeUp = { username: 'vm-a1', password: randomBytes(24).toString('hex') };
    assert.match(await produceFromHost(lab.clients.kafkaBrokers, madeUp), REFUSED);
    assert.equal(await produceFromHost(lab.clients.kafkaBrokers, lab.clients.kafkaCredentials), 'produced');
  });

  it('lets telemetry read the packet traces but not publish one', async () => {
    const results = produceFrom(await lab.containerId('telemetry'), [
      { label: 'telemetry forges a trace', as: 'own', topic: TOPICS.packetTraces },
    ]);
    assert.match(results['telemetry forges a trace'] ?? '', /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
  });

  it("has telemetry hold the switch's sampled traces: switch and telemetry each use Kafka as themselves", async () => {
    // The lab suite sampled tenant A's frames at 0.5: the switch published them, telemetry consumed them.
    const held = await eventually("tenant A's traces in telemetry", 30_000, async () => {
      const { status, body } = await lab.clients.telemetry.get<{ traces: unknown[] }>('/traces/tenant-a?limit=5');
      return status === 200 && body.traces.length > 0 ? body.traces : undefined;
    });
    assert.ok(held.length > 0);
  });
});

describe('the checked-in docker-compose.yml, as a plain `docker compose up` reads it', () => {
  /** What the lab runner gives Compose per profile; the committed .env has none of it. */
  const required = (): Record<string, string> => ({
    LAB_SECRETS_DIR: '/run/tenantlab-ci-secrets',
    LAB_SECRETS_GID: '47011',
    LAB_TENANTS: '[]',
  });

  /** `compose config`: the project as Compose resolves it from .env and `shell` (none of the caller's variables). */
  function resolved(shell: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const [command = 'docker', ...rest] = composeCommand() ?? [];
    const environment: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(required())) delete environment[name];
    return spawnSync(command, [...rest, '-f', 'docker-compose.yml', 'config'], {
      cwd: REPO_ROOT,
      env: { ...environment, ...shell },
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  it('refuses to start on the committed .env alone, and without any one of its variables, naming it and `lab up --mode docker`', () => {
    const alone = resolved({});
    assert.notEqual(alone.status, 0);
    assert.match(alone.stderr, /[A-Z_]+ is generated per lab: start it with npm run lab -- up --mode docker/);
    const all = required();
    for (const name of Object.keys(all)) {
      const result = resolved(Object.fromEntries(Object.entries(all).filter(([other]) => other !== name)));
      assert.notEqual(result.status, 0, name);
      assert.match(
        result.stderr,
        new RegExp(`${name} is generated per lab: start it with npm run lab -- up --mode docker`),
      );
    }
  });

  it('mounts the Redis password and the Kafka passwords only where they belong, never in a VM, and no value', () => {
    const result = resolved(required());
    assert.equal(result.status, 0, result.stderr);
    // Each service's block of the resolved project: its name at two spaces under `services:`.
    const services = result.stdout.slice(result.stdout.indexOf('\nservices:\n'));
    const blocks = new Map(
      [...services.matchAll(/^ {2}([a-z0-9-]+):\n((?: {4}.*\n|\n)*)/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    const mounting = (secret: string): string[] =>
      [...blocks]
        .filter(([, block]) => block.includes(`- source: ${secret}\n`))
        .map(([service]) => service)
        .sort();
    assert.deepEqual(mounting('redis-admin-url'), ['allocator', 'operator', 'switch']);
    assert.deepEqual(mounting('redis-admin-config'), ['redis']);
    // A Kafka service's password (its token) is in the broker's SCRAM users and its own container only.
    assert.deepEqual(mounting('service-token-switch'), ['kafka', 'switch']);
    assert.deepEqual(mounting('service-token-telemetry'), ['kafka', 'telemetry']);
    assert.deepEqual(mounting('service-token-admin'), ['kafka', 'kafka-setup']);
    assert.deepEqual(mounting('dashboard-token'), ['telemetry'], 'only telemetry checks the dashboard login');
    assert.deepEqual(mounting('tenant-secret-tenant-a'), ['vm-a1', 'vm-a2']);
    assert.deepEqual(mounting('tenant-secret-tenant-b'), ['vm-b1', 'vm-b2']);
    for (const vm of ['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2']) {
      assert.equal([...(blocks.get(vm) ?? '').matchAll(/- source: /g)].length, 1, `${vm} mounts one secret`);
    }
    // No secret-bearing variable in any environment (a `_FILE` variable names a file), no credentials in a URL.
    assert.doesNotMatch(result.stdout, /PASSWORD:|TOKEN:|TOKENS:|SECRET:|REDISCLI_AUTH:|redis:\/\/:/);
  });
});
