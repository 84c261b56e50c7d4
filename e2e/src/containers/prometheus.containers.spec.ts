import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  dockerBinary,
  labDataDir,
  type LabState,
  METRICS_SCRAPE_TOKEN,
  metricsVmScrapeTokenName,
  type PerScrapeJob,
  prometheusAuthHeaders,
  PROMETHEUS_WEB_PASSWORD,
  readLabState,
  readPrometheusSecrets,
} from '@tenantlab/lab';
import { metricsTokenSha256, requestJson, SERVICE_PORTS, VM_BASE_PORT } from '@tenantlab/shared';
import { CONTAINERS_PORT_OFFSET, eventually, LAB_CLI, pause, REPO_ROOT, urlOf } from '../lab-process';

/** Its own profile, on the containers tier's ports (its files run one at a time). */
const PROFILE = 'containers-prometheus';
const PORT_OFFSET = CONTAINERS_PORT_OFFSET;
const PROJECT = `tenantlab-${PROFILE}`;
/** Two tenants, a VM each: every kind of target, in fewer containers than the default lab. */
const LAB = {
  name: 'prometheus',
  tenants: [
    { id: 'tenant-a', vms: ['vm-a1'] },
    { id: 'tenant-b', vms: ['vm-b1'] },
  ],
};
const TENANTS = LAB.tenants.map((tenant) => tenant.id);
const TENANT_OF: Record<string, string> = { 'vm-a1': 'tenant-a', 'vm-b1': 'tenant-b' };

function docker(...args: string[]): string {
  const result = spawnSync(dockerBinary(), args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function projectContainers(): string[] {
  return docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`).split('\n').filter(Boolean);
}

function containerOf(service: string): string {
  return docker(
    'ps',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  );
}

interface Target {
  labels: { component: string; job: string };
  scrapeUrl: string;
  health: string;
  lastError: string;
}

/**
 * `npm run lab -- up --mode docker --prometheus`, as a user runs it: the lab's Prometheus is a container of its compose
 * project that scrapes every service and VM of the lab file (each tenant's VMs in their own job), `lab status` shows
 * it, and the metrics tokens it scrapes with (the services', each tenant's) and its web password reach it as files:
 * nothing `docker inspect` shows holds them.
 */
describe('the lab-started Prometheus in Docker mode (`lab up --mode docker --prometheus`)', () => {
  const labDir = mkdtempSync(join(tmpdir(), 'prometheus-lab-'));
  let runner: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  const output: string[] = [];
  let state: LabState;
  /** The scrape tokens (the services', each tenant's VMs') and the Prometheus web password. */
  let tokens: PerScrapeJob<string>;
  let webPassword: string;

  before(
    async () => {
      // Logs of an earlier run of this profile must not stand in for this one's (the last test reads them).
      rmSync(join(labDataDir(REPO_ROOT, PROFILE), 'logs'), { recursive: true, force: true });
      const labFile = join(labDir, 'lab.json');
      writeFileSync(labFile, JSON.stringify(LAB));
      const args = ['up', '--mode', 'docker', '--prometheus', '--quiet', '--lab', labFile, '--profile', PROFILE];
      const child = spawn(process.execPath, [LAB_CLI, ...args, '--port-offset', String(PORT_OFFSET)], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      runner = child;
      exited = new Promise((done) => child.once('exit', (code) => done(code)));
      for (const stream of [child.stdout, child.stderr])
        stream.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      // Polls the state file `lab up` writes once everything is healthy; a runner that exits fails at once.
      const deadline = Date.now() + 400_000;
      for (let written = readLabState(REPO_ROOT, PROFILE); ; written = readLabState(REPO_ROOT, PROFILE)) {
        if (written?.readyAt && written.runnerPid === child.pid) {
          state = written;
          break;
        }
        if (child.exitCode !== null) throw new Error(`lab up exited with ${child.exitCode}:\n${output.join('')}`);
        if (Date.now() > deadline) throw new Error(`lab up not ready within 400 s:\n${output.join('')}`);
        await pause(500);
      }
      const dataDir = labDataDir(REPO_ROOT, PROFILE);
      ({ tokens, webPassword } = readPrometheusSecrets(dataDir, TENANTS));
      for (const secret of [tokens.service, ...Object.values(tokens.tenants), webPassword]) {
        assert.match(secret, /^[0-9a-f]{64}$/, 'the lab made its scrape tokens and Prometheus password');
      }
    },
    { timeout: 420_000 },
  );

  after(async () => {
    if (runner && runner.exitCode === null) runner.kill('SIGINT');
    const code = await exited;
    rmSync(labDir, { recursive: true, force: true });
    assert.equal(code, 0, `lab up stopped cleanly:\n${output.join('')}`);
    assert.deepEqual(projectContainers(), [], 'Ctrl-C leaves no container');
  });

  it('shows Prometheus in `lab status`, ready, on 127.0.0.1', async () => {
    const result = spawnSync(process.execPath, [LAB_CLI, 'status', '--json', '--profile', PROFILE], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    const report = JSON.parse(result.stdout) as { components: { name: string; kind: string; ready: boolean }[] };
    assert.deepEqual(
      report.components.map((c) => c.name),
      ['redis', 'kafka', 'jaeger', 'prometheus', 'operator', 'switch', 'allocator', 'telemetry', 'vm-a1', 'vm-b1'],
    );
    assert.deepEqual(
      report.components.filter((c) => !c.ready).map((c) => c.name),
      [],
    );
    assert.equal(urlOf(state, 'prometheus'), `http://127.0.0.1:${9090 + PORT_OFFSET}`);
    const bindings = JSON.parse(
      docker('inspect', '--format', '{{ json .HostConfig.PortBindings }}', containerOf('prometheus')),
    ) as Record<string, { HostIp: string; HostPort: string }[]>;
    assert.deepEqual(bindings, { '9090/tcp': [{ HostIp: '127.0.0.1', HostPort: String(9090 + PORT_OFFSET) }] });
    // After the state file, `lab up` prints the ready table and then the addresses.
    await eventually('lab up to print where Prometheus is', 30_000, async () =>
      output.join('').includes(`Prometheus: ${urlOf(state, 'prometheus')}/ (user tenantlab`) ? true : undefined,
    );
  });

  it('scrapes every service and VM of the lab file across both networks: every target up, `up` 1', async () => {
    const prometheus = urlOf(state, 'prometheus');
    const expected = state.components.filter((c) => c.kind === 'service' || c.kind === 'vm').map((c) => c.name);
    assert.deepEqual(expected, ['operator', 'switch', 'allocator', 'telemetry', 'vm-a1', 'vm-b1']);
    const api = async <T>(path: string): Promise<T> => {
      const { status, body } = await requestJson<{ data: T }>(
        'GET',
        `${prometheus}${path}`,
        undefined,
        5000,
        prometheusAuthHeaders(webPassword),
      );
      assert.equal(status, 200, path);
      return body.data;
    };
    const targets = await eventually('every target up', 90_000, async () => {
      const { activeTargets } = await api<{ activeTargets: Target[] }>('/api/v1/targets?state=active');
      return activeTargets.length === expected.length && activeTargets.every((t) => t.health === 'up')
        ? activeTargets
        : undefined;
    }).catch(async (error: Error) => {
      const { activeTargets } = await api<{ activeTargets: Target[] }>('/api/v1/targets?state=active');
      throw new Error(`${error.message}: ${JSON.stringify(activeTargets.map((t) => [t.scrapeUrl, t.lastError]))}`);
    });
    // Scraped at the containers' own names and ports, inside the project.
    const portOf = (name: string): number =>
      name.startsWith('vm-') ? VM_BASE_PORT : SERVICE_PORTS[name as keyof typeof SERVICE_PORTS];
    assert.deepEqual(
      targets.map((t) => `${t.labels.component} ${t.scrapeUrl}`).sort(),
      expected.map((name) => `${name} http://${name}:${portOf(name)}/metrics`).sort(),
    );
    const up = await api<{ result: { metric: { component: string }; value: [number, string] }[] }>(
      '/api/v1/query?query=up',
    );
    assert.deepEqual(
      up.result.map((series) => [series.metric.component, series.value[1]]).sort(),
      expected.map((name) => [name, '1']).sort(),
    );
    assert.deepEqual(
      targets.map((t) => `${t.labels.job} ${t.labels.component}`).sort(),
      expected
        .map((name) => `tenantlab-${name.startsWith('vm-') ? `vms-${TENANT_OF[name]}` : 'services'} ${name}`)
        .sort(),
      "a job for the services and one per tenant's VMs",
    );
    // Its API shows every tenant's series: no answer without its password, nor to a scrape token.
    assert.equal((await fetch(`${prometheus}/api/v1/targets`, { signal: AbortSignal.timeout(5000) })).status, 401);
    for (const token of [tokens.service, ...Object.values(tokens.tenants)]) {
      const response = await fetch(`${prometheus}/api/v1/targets`, {
        headers: prometheusAuthHeaders(token),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(response.status, 401, 'a scrape token as the password');
    }
  });

  it("gives each VM container only its own tenant's token's hash and each service the services': no other token opens it", async () => {
    const all = [tokens.service, ...Object.values(tokens.tenants)];
    for (const component of state.components.filter((c) => c.kind === 'service' || c.kind === 'vm')) {
      const env = JSON.parse(
        docker('inspect', '--format', '{{ json .Config.Env }}', containerOf(component.name)),
      ) as string[];
      const own = component.kind === 'vm' ? (tokens.tenants[TENANT_OF[component.name] ?? ''] ?? '') : tokens.service;
      assert.deepEqual(
        env.filter((variable) => variable.startsWith('METRICS_')),
        [`METRICS_TOKEN_SHA256=${metricsTokenSha256(own)}`],
        `${component.name} holds the hash of its own job's token and no other`,
      );
      // What a VM is sent on every scrape (its tenant's token) is refused by every service and every other tenant's
      // VM; the services' token by every VM.
      for (const other of all.filter((token) => token !== own)) {
        const response = await fetch(`${component.url}/metrics`, {
          headers: { authorization: `Bearer ${other}` },
          signal: AbortSignal.timeout(10_000),
        });
        assert.equal(response.status, 403, `${component.name} with another job's token`);
      }
    }
  });

  it('holds the metrics tokens and its password only as files: nothing `docker inspect` shows has them', () => {
    for (const secret of [tokens.service, ...Object.values(tokens.tenants), webPassword]) {
      const basic = prometheusAuthHeaders(secret).authorization.slice('Basic '.length);
      for (const id of projectContainers()) {
        const inspected = docker('inspect', id);
        assert.ok(!inspected.includes(secret), `docker inspect ${id} shows a secret`);
        assert.ok(!inspected.includes(basic), `docker inspect ${id} shows a secret in a basic auth header`);
      }
    }
    const prometheus = containerOf('prometheus');
    const mounts = JSON.parse(docker('inspect', '--format', '{{ json .Mounts }}', prometheus)) as {
      Source: string;
      Destination: string;
    }[];
    for (const secret of [METRICS_SCRAPE_TOKEN, ...TENANTS.map(metricsVmScrapeTokenName), PROMETHEUS_WEB_PASSWORD]) {
      assert.ok(
        mounts.some((m) => m.Destination === `/run/secrets/${secret}`),
        `${secret} is a mounted secret file`,
      );
    }
    // Prometheus itself runs as its own user, not root, reading owner-only copies.
    for (const copy of ['scrape-token', 'vm-scrape-token-tenant-a', 'vm-scrape-token-tenant-b', 'web-password']) {
      assert.equal(docker('exec', prometheus, 'stat', '-c', '%U %a', `/run/prometheus/${copy}`), 'prometheus 400');
    }
    const [, uid] = /^Uid:\s+(\d+)/.exec(docker('exec', prometheus, 'grep', '^Uid:', '/proc/1/status')) ?? [];
    assert.equal(uid, docker('exec', prometheus, 'id', '-u', 'prometheus'), 'Prometheus runs as its own user');
  });

  it("answers a tenant VM on the lab's network only with a 401", () => {
    const script = `fetch('http://prometheus:9090/api/v1/targets', { signal: AbortSignal.timeout(5000) })
      .then((r) => console.log(r.status), () => console.log(0));`;
    assert.equal(docker('exec', containerOf('vm-a1'), 'node', '-e', script), '401');
  });

  it("refuses, on the tenant network, tenant-a's scrape token replayed by a tenant-a VM at tenant-b's VM", () => {
    // What Prometheus sends vm-a1 on every scrape, sent from inside vm-a1's container over `tenant-vms` (on stdin: no
    // command line holds it).
    const replay = (target: string): string => {
      const script = `let token = ''; process.stdin.on('data', (chunk) => (token += chunk)).on('end', () =>
        fetch('http://${target}:${VM_BASE_PORT}/metrics', { headers: { authorization: 'Bearer ' + token.trim() },
          signal: AbortSignal.timeout(5000) }).then((r) => console.log(r.status), () => console.log(0)));`;
      const result = spawnSync(dockerBinary(), ['exec', '-i', containerOf('vm-a1'), 'node', '-e', script], {
        input: tokens.tenants['tenant-a'],
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.trim();
    };
    assert.equal(replay('vm-b1'), '403', "tenant-b's VM refuses tenant-a's token");
    assert.equal(replay('vm-a1'), '200', "the token is tenant-a's: its own tenant's VM answers it");
  });

  // Last: it stops the lab.
  it("keeps every container's whole log in .lab/<profile>/logs/ once stopped: infrastructure's, across a restart", async () => {
    // The engine restarts a container whose process exits (`restart: unless-stopped`); the log goes on in the same
    // container. Prometheus is stopped from inside (SIGTERM to its PID 1) and comes back.
    const READY = 'Server is ready to receive web requests';
    const prometheus = containerOf('prometheus');
    docker('exec', prometheus, 'bash', '-c', 'kill -TERM 1');
    // Prometheus logs to stderr: `docker logs` gives both streams.
    const containerLog = (): string => {
      const result = spawnSync(dockerBinary(), ['logs', prometheus], { encoding: 'utf8', timeout: 30_000 });
      return `${result.stdout}${result.stderr}`;
    };
    await eventually('the engine to start Prometheus again, ready', 90_000, async () =>
      containerLog().split(READY).length - 1 >= 2 ? true : undefined,
    );
    // Ctrl-C stops the lab only once `lab up` has finished starting (before, it exits 130 at once).
    await eventually('lab up to finish starting', 30_000, async () =>
      output.join('').includes('Ctrl-C stops everything') ? true : undefined,
    );
    runner?.kill('SIGINT');
    assert.equal(await exited, 0, `lab up stopped cleanly:\n${output.join('')}`);
    const logs = join(labDataDir(REPO_ROOT, PROFILE), 'logs');
    for (const service of ['redis', 'kafka', 'kafka-setup', 'jaeger', 'prometheus', 'operator', 'vm-a1']) {
      const file = join(logs, `${service}.log`);
      assert.ok(existsSync(file) && statSync(file).size > 0, `${service}.log holds its log`);
    }
    const prometheusLog = readFileSync(join(logs, 'prometheus.log'), 'utf8');
    assert.equal(prometheusLog.split(READY).length - 1, 2, "prometheus.log holds both of its runs' logs");
  });
});
