import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { dockerBinary, startTestLab, type TestLab } from '@tenantlab/lab';
import { eventually, LAB_CLI, REPO_ROOT } from '../lab-process';

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

  it('echoes over a circuit within a tenant and refuses one across tenants', async () => {
    const { vms } = lab.clients;
    assert.equal((await vms['vm-a2'].echo('echo')).status, 201);
    const sent = await vms['vm-a1'].send({ target: 'vm-a2/echo', mode: 'stream', count: 1000, size: 512 });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.verified, true, sent.body.problem);
    const denied = await vms['vm-b1'].send({ target: 'vm-a2/echo', mode: 'datagram', count: 1, size: 16 });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error?.code, 'POLICY_DENIED');
  });

  it('carries frames VM to switch to VM within a tenant, never across', async () => {
    const { vms } = lab.clients;
    const count = 500;
    assert.equal(
      (await vms['vm-a1'].generateTraffic({ to: ['vm-a2'], protocol: 'udp', count, size: 128 })).status,
      201,
    );
    await eventually(`${count} frames at vm-a2`, 30_000, async () =>
      (await vms['vm-a2'].received()).body.total >= count ? true : undefined,
    );
    assert.equal(
      (await vms['vm-a1'].generateTraffic({ to: ['vm-b1'], protocol: 'udp', count: 100, size: 128 })).status,
      201,
    );
    await eventually('the switch to handle the 100 frames for vm-b1', 30_000, async () => {
      const { body } = await lab.clients.switch.get<{ counters: { ports: Record<string, { rxFrames: number }> } }>(
        '/dataplane',
      );
      return (body.counters.ports['vm-a1']?.rxFrames ?? 0) >= count + 100 ? true : undefined;
    });
    assert.equal((await vms['vm-b1'].received()).body.total, 0, 'nothing from tenant A reached tenant B');
  });

  it('has traces in the Jaeger container: a VM registering through the operator', async () => {
    const trace = await eventually('a vm.register trace with operator spans', 30_000, async () => {
      const traces = await lab.clients.jaeger.traces('tenant-vm', 'vm.register');
      return traces.find((t) => Object.values(t.processes).some((p) => p.serviceName === 'operator'));
    });
    const services = new Set(Object.values(trace.processes).map((p) => p.serviceName));
    assert.ok(services.has('tenant-vm') && services.has('operator'), [...services].join(', '));
  });

  it('re-registers a VM container killed with docker kill and started again; its peer sees the old circuit end', async () => {
    const { vms, operator } = lab.clients;
    assert.equal((await vms['vm-a2'].echo('kill-echo')).status, 201);
    const transfer = vms['vm-a1'].send({ target: 'vm-a2/kill-echo', mode: 'stream', count: 1_000_000, size: 1024 });
    const circuit = await eventually('the circuit open on vm-a1', 30_000, async () =>
      (await vms['vm-a1'].circuits()).body.circuits.find((c) => c.id),
    );
    const container = await lab.containerId('vm-a2');
    docker('kill', container);
    const { status, body } = await transfer;
    assert.ok(status >= 400, `the sender sees its peer die: ${status} ${JSON.stringify(body)}`);
    await eventually('the old circuit gone from vm-a1', 60_000, async () =>
      (await vms['vm-a1'].circuits()).body.circuits.some((c) => c.id === circuit.id) ? undefined : true,
    );
    // Docker restarts it by its restart policy unless the kill counted as a manual stop; start it either way.
    if (docker('inspect', '--format', '{{ .State.Running }}', container) !== 'true') docker('start', container);
    await eventually('vm-a2 ready again', 60_000, async () =>
      (await vms['vm-a2'].ready()).status === 200 ? true : undefined,
    );
    const registry = await operator.get<{ vms: { id: string; alive: boolean }[] }>('/vms');
    assert.equal(registry.body.vms.find((v) => v.id === 'vm-a2')?.alive, true);
    // A new circuit to the restarted VM works.
    assert.equal((await vms['vm-a2'].echo('echo-again')).status, 201);
    const again = await vms['vm-a1'].send({ target: 'vm-a2/echo-again', mode: 'stream', count: 100, size: 64 });
    assert.equal(again.body.verified, true, JSON.stringify(again.body));
  });
});
