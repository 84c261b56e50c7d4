import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composeCommand, dockerBinary, startTestLab, type TestLab } from '@tenantlab/lab';
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
});

describe('the checked-in docker-compose.yml, as a plain `docker compose up` reads it', () => {
  /** `compose config`: the project as Compose resolves it, variables filled in from .env (none from the shell). */
  function resolved(envFile?: string): { status: number | null; stdout: string; stderr: string } {
    const [command = 'docker', ...rest] = composeCommand() ?? [];
    const args = [...rest, ...(envFile ? ['--env-file', envFile] : []), '-f', 'docker-compose.yml', 'config'];
    // The service tokens have no default in .env: a user of plain Compose sets them in the shell (see README).
    const environment: NodeJS.ProcessEnv = {
      ...process.env,
      OPERATOR_SERVICE_TOKEN: 'shell-token-1',
      ADMIN_SERVICE_TOKEN: 'shell-token-2',
    };
    delete environment['REDIS_ADMIN_PASSWORD'];
    return spawnSync(command, args, { cwd: REPO_ROOT, env: environment, encoding: 'utf8', timeout: 60_000 });
  }

  it("takes REDIS_ADMIN_PASSWORD from .env for Redis and the trusted services' REDIS_URL, never for a VM", () => {
    const dotEnv = readFileSync(join(REPO_ROOT, '.env'), 'utf8');
    const password = /^REDIS_ADMIN_PASSWORD=(.+)$/m.exec(dotEnv)?.[1]?.trim() ?? '';
    assert.ok(password.length >= 16, '.env sets a password');
    const result = resolved();
    assert.equal(result.status, 0, result.stderr);
    // Each service's block of the resolved project: its name at two spaces under `services:`.
    const services = result.stdout.slice(result.stdout.indexOf('\nservices:\n'));
    const blocks = new Map(
      [...services.matchAll(/^ {2}([a-z0-9-]+):\n((?: {4}.*\n|\n)*)/gm)].map((m) => [m[1], m[2] ?? '']),
    );
    const holding = [...blocks].filter(([, block]) => block.includes(password)).map(([name]) => name);
    assert.deepEqual(holding.sort(), ['allocator', 'operator', 'redis', 'switch']);
    for (const name of ['allocator', 'operator', 'switch']) {
      assert.ok(blocks.get(name)?.includes(`redis://:${password}@redis:6379`), `${name}'s REDIS_URL`);
    }
    assert.match(blocks.get('redis') ?? '', new RegExp(`--requirepass\n\\s+- ${password}\n`));
    assert.deepEqual(
      [...blocks.keys()].filter((name) => name.startsWith('vm-')),
      ['vm-a1', 'vm-a2', 'vm-b1', 'vm-b2'],
    );
  });

  it('refuses to start without REDIS_ADMIN_PASSWORD, naming it', () => {
    const empty = join(mkdtempSync(join(tmpdir(), 'tenantlab-env-')), '.env');
    writeFileSync(empty, '');
    const result = resolved(empty);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /set REDIS_ADMIN_PASSWORD/);
  });
});
