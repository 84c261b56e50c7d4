import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { composeCommand, dockerBinary, startTestLab, type TestLab } from '@tenantlab/lab';
import { TOPICS } from '@tenantlab/shared';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { eventually, LAB_CLI, REPO_ROOT } from '../lab-process';
import { describeLabSuite } from '../lab-suite';

/** Beside a user's lab (offset 0) and the local e2e lab (offset 10000). */
const PROFILE = 'containers';
const PORT_OFFSET = 20_000;

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

/** Kafka's refusals: a failed SASL handshake or authentication, or the authorizer's "not authorized". */
const REFUSED = /SASL|authentication|AUTHORIZATION_FAILED|not authorized|closed connection|connection closed/i;

interface ProduceAttempt {
  label: string;
  /** `own`: the container's own Kafka user (its KAFKA_USERNAME/KAFKA_PASSWORD); `made-up`: a user the broker never had. */
  as: 'anonymous' | 'own' | 'made-up';
  topic: string;
}

/**
 * From inside a container on the lab's core network, each attempt produces one message to kafka:9092 with the
 * container's own Node and kafkajs, and reports `produced` or the error. The container's password never leaves it
 * (the script reads its environment), and a made-up user's is drawn inside.
 */
function produceFrom(container: string, attempts: ProduceAttempt[]): Record<string, string> {
  const script = `
    const { Kafka, logLevel } = require('kafkajs');
    const { randomBytes } = require('node:crypto');
    const attempts = ${JSON.stringify(attempts)};
    const sasl = (as) => as === 'own'
      ? { mechanism: 'scram-sha-512', username: process.env.KAFKA_USERNAME, password: process.env.KAFKA_PASSWORD }
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
  });

  it('lets a VM reach Redis, the operator and Jaeger OTLP, and nothing of the trusted side', async () => {
    const vm = await lab.containerId('vm-a1');
    const addressOf = async (name: string): Promise<string> =>
      docker(
        'inspect',
        '--format',
        '{{ range .NetworkSettings.Networks }}{{ .IPAddress }} {{ end }}',
        await lab.containerId(name),
      ).split(' ')[0] ?? '';
    const trusted = { switch: 3001, allocator: 3002, telemetry: 3003, kafka: 9092 };
    const byAddress = await Promise.all(
      Object.entries(trusted).map(async ([name, port]) => `${await addressOf(name)}:${port}`),
    );
    const results = reachableFrom(vm, [
      'redis:6379',
      'operator:3000',
      'jaeger:4318',
      'jaeger:4317',
      ...Object.entries(trusted).map(([name, port]) => `${name}:${port}`),
      ...byAddress,
    ]);
    assert.deepEqual(
      Object.entries(results)
        .filter(([, ok]) => ok)
        .map(([target]) => target),
      ['redis:6379', 'operator:3000', 'jaeger:4318', 'jaeger:4317'],
      `reachable from vm-a1 (trusted side by name and by address ${byAddress.join(', ')})`,
    );
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
  /** What the lab runner generates per profile and gives Compose; the committed .env has none of it. */
  const secrets = (): Record<string, string> =>
    Object.fromEntries(
      [
        'REDIS_ADMIN_PASSWORD',
        'OPERATOR_ADMIN_TOKEN',
        'LAB_TENANTS',
        'TENANT_SECRET_TENANT_A',
        'TENANT_SECRET_TENANT_B',
        'DASHBOARD_TOKEN',
        ...['OPERATOR', 'SWITCH', 'ALLOCATOR', 'TELEMETRY', 'ADMIN'].map((holder) => `${holder}_SERVICE_TOKEN`),
      ].map((name) => [name, randomBytes(24).toString('hex')]),
    );

  /** `compose config`: the project as Compose resolves it from .env and `shell` (none of the caller's secrets). */
  function resolved(shell: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const [command = 'docker', ...rest] = composeCommand() ?? [];
    const environment: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(secrets())) delete environment[name];
    return spawnSync(command, [...rest, '-f', 'docker-compose.yml', 'config'], {
      cwd: REPO_ROOT,
      env: { ...environment, ...shell },
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  it('refuses to start on the committed .env alone, and without any one secret, naming it and `lab up --mode docker`', () => {
    const alone = resolved({});
    assert.notEqual(alone.status, 0);
    assert.match(alone.stderr, /[A-Z_]+ is generated per lab: start it with npm run lab -- up --mode docker/);
    const all = secrets();
    for (const name of Object.keys(all)) {
      const result = resolved(Object.fromEntries(Object.entries(all).filter(([other]) => other !== name)));
      assert.notEqual(result.status, 0, name);
      assert.match(
        result.stderr,
        new RegExp(`${name} is generated per lab: start it with npm run lab -- up --mode docker`),
      );
    }
  });

  it('puts the Redis password and the Kafka passwords only where they belong, never in a VM', () => {
    const shell = secrets();
    const result = resolved(shell);
    assert.equal(result.status, 0, result.stderr);
    // Each service's block of the resolved project: its name at two spaces under `services:`.
    const services = result.stdout.slice(result.stdout.indexOf('\nservices:\n'));
    const blocks = new Map(
      [...services.matchAll(/^ {2}([a-z0-9-]+):\n((?: {4}.*\n|\n)*)/gm)].map((m) => [m[1], m[2] ?? '']),
    );
    const holding = (name: string): string[] =>
      [...blocks]
        .filter(([, block]) => block.includes(shell[name] ?? '-'))
        .map(([service]) => service ?? '')
        .sort();
    const password = shell['REDIS_ADMIN_PASSWORD'] ?? '';
    assert.deepEqual(holding('REDIS_ADMIN_PASSWORD'), ['allocator', 'operator', 'redis', 'switch']);
    for (const name of ['allocator', 'operator', 'switch']) {
      assert.ok(blocks.get(name)?.includes(`redis://:${password}@redis:6379`), `${name}'s REDIS_URL`);
    }
    assert.match(blocks.get('redis') ?? '', new RegExp(`--requirepass\n\\s+- ${password}\n`));
    // A Kafka service's password (its token) is in the broker's SCRAM users and its own container only.
    assert.deepEqual(holding('SWITCH_SERVICE_TOKEN'), ['kafka', 'switch']);
    // Telemetry's token is also its credential for its dashboard's reads, which the operator, switch and allocator take.
    assert.deepEqual(holding('TELEMETRY_SERVICE_TOKEN'), ['allocator', 'kafka', 'operator', 'switch', 'telemetry']);
    assert.deepEqual(holding('ALLOCATOR_SERVICE_TOKEN'), ['allocator', 'kafka']);
    assert.deepEqual(holding('DASHBOARD_TOKEN'), ['telemetry'], 'only telemetry checks the dashboard login');
    const vms = [...blocks.keys()].filter((name) => name?.startsWith('vm-'));
    assert.deepEqual(vms, ['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2']);
    for (const name of Object.keys(shell).filter((name) => name.endsWith('_SERVICE_TOKEN'))) {
      assert.deepEqual(
        holding(name).filter((service) => service.startsWith('vm-')),
        [],
        name,
      );
    }
  });
});
