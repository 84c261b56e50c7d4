import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isProcessAlive, labDataDir, LabState } from '@tenantlab/lab';
import { createKafkaClient, JsonLogger, requestJson, TOPICS } from '@tenantlab/shared';
import { type JaegerTrace, parentOf, serviceOf, tag } from './jaeger-api';
import {
  E2E_PROFILE,
  eventually,
  LAB_CLI,
  LabProcess,
  REPO_ROOT,
  spawnLab,
  urlOf,
  waitForReadyLab,
} from './lab-process';

/**
 * README behaviours of the whole default lab that lab.e2e.spec.ts does not check (see docs/readme-behaviours.md).
 * One bring-up for all of them: the lab is costly to start. It uses the same profile and ports as lab.e2e.spec.ts,
 * so the two never run at once (the test runner runs e2e files one at a time, and helpers hold the tests lock).
 */
describe('the default lab keeps the promises of its README', () => {
  let lab: LabProcess;
  let state: LabState;

  before(async () => {
    lab = spawnLab();
    state = await waitForReadyLab(lab, 240_000);
  });

  after(async () => {
    // Only if a test failed before `lab down` ran: never leave a lab behind.
    if (lab.child.exitCode === null) {
      lab.child.kill('SIGINT');
      await lab.exited;
    }
  });

  it('answers GET /health and GET /ready on every service, naming each dependency it checked', async () => {
    const services = state.components.filter((c) => c.kind !== 'infra');
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
        // 127.0.0.1 is 0100007F little-endian; anything else (0.0.0.0, ::) would take connections from outside.
        assert.deepEqual(
          sockets.map((socket) => socket.address),
          sockets.map(() => '0100007F'),
          `${component.name} on port ${port}`,
        );
      }
    },
  );

  it('shows each component with its URL, readiness and memory in `lab status --json`', () => {
    const result = spawnSync(process.execPath, [LAB_CLI, 'status', '--json', '--profile', E2E_PROFILE], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      components: { name: string; url: string; ready: boolean; rssBytes?: number }[];
    };
    assert.equal(report.components.length, state.components.length);
    for (const component of report.components) {
      assert.equal(component.url, urlOf(state, component.name));
      assert.equal(component.ready, true, component.name);
      assert.ok((component.rssBytes ?? 0) > 1024 * 1024, `${component.name} holds ${component.rssBytes} bytes`);
    }
  });

  it("joins a sampled frame's switch.forward span to the trace of the VM send that carried it, in Jaeger", async () => {
    const [a1, sw, jaeger] = ['vm-a1', 'switch', 'jaeger'].map((name) => urlOf(state, name));
    assert.equal((await requestJson('PUT', `${sw}/tenants/tenant-a/sampling`, { rate: 1 })).status, 200);
    try {
      const sent = await requestJson('POST', `${a1}/traffic/generate`, {
        to: ['vm-a2'],
        protocol: 'udp',
        count: 20,
        size: 128,
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
    } finally {
      assert.equal((await requestJson('PUT', `${sw}/tenants/tenant-a/sampling`, { rate: 0.01 })).status, 200);
    }
    const query = new URLSearchParams({ service: 'switch', operation: 'switch.forward', limit: '20', lookback: '1h' });
    const trace = await eventually('a switch.forward span in a trace that starts in vm-a1', 60_000, async () => {
      const { body } = await requestJson<{ data?: JaegerTrace[] }>('GET', `${jaeger}/api/traces?${query.toString()}`);
      return body.data?.find((t) =>
        t.spans.some((s) => s.operationName === 'switch.forward' && parentOf(t, s) !== undefined),
      );
    });
    const forward = trace.spans.find((s) => s.operationName === 'switch.forward' && parentOf(trace, s))!;
    assert.equal(serviceOf(trace, forward), 'switch');
    assert.equal(tag(forward, 'tenantlab.tenant.id'), 'tenant-a');
    assert.equal(tag(forward, 'tenantlab.switch.in_port'), 'vm-a1');
    const parent = parentOf(trace, forward)!;
    assert.equal(serviceOf(trace, parent), 'tenant-vm', 'the parent is the sending VM span');
  });

  it('publishes the counters to switch.counters every COUNTERS_INTERVAL_MS (5000 by default)', async () => {
    const received: { timestamp: number; key: string; counters?: unknown; flowCache?: unknown }[] = [];
    const kafka = createKafkaClient('e2e-counters', [urlOf(state, 'kafka')], new JsonLogger('e2e', 'error'));
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

  it('stops with `lab down` from another terminal: the runner exits, no process and no state file left', async () => {
    const pids = [lab.child.pid!, ...state.components.map((c) => c.pid)];
    const result = spawnSync(process.execPath, [LAB_CLI, 'down', '--profile', E2E_PROFILE], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    await lab.exited;
    await eventually('every lab process gone', 30_000, async () =>
      pids.every((pid) => !isProcessAlive(pid)) ? true : undefined,
    );
    assert.equal(existsSync(join(labDataDir(REPO_ROOT, E2E_PROFILE), 'lab.json')), false);
  });
});
