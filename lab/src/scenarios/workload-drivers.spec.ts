import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Workload } from './scenario';
import type { ScenarioContext } from './scenario-context';
import type { PlannedWorkload } from './scenario-plan';
import { newStats, runWorkload } from './workload-drivers';

interface Call {
  path: string;
  atMs: number;
  body: Record<string, unknown>;
}

/** A stand-in VM: answers the workload routes as a VM does, and records each call with the run's time. */
describe('workload drivers (README: traffic size default 256, transfer and ping every 1000 ms by default)', () => {
  let server: Server;
  let url: string;
  let started = 0;
  const calls: Call[] = [];
  const now = (): number => Date.now() - started;

  before(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        calls.push({ path: request.url ?? '', atMs: now(), body });
        const answer =
          request.url === '/traffic/generate'
            ? { sent: body['count'], packetsPerSecond: 100 }
            : request.url === '/workloads/send'
              ? { verified: true, messagesPerSecond: 10 }
              : { count: body['count'], oneWayP50Us: 100, oneWayP99Us: 200 };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    return new Promise<void>((done) => server.close(() => done()));
  });

  function run(workload: Workload, stopMs: number): Promise<void> {
    const context = {
      state: { components: [{ name: 'vm-a1', kind: 'vm', url, pid: 1 }] },
      now,
      signal: new AbortController().signal,
    } as unknown as ScenarioContext;
    const planned: PlannedWorkload = { index: 0, workload, startMs: 0, stopMs, onPhases: [[0, stopMs]], seed: 7 };
    return runWorkload(planned, context, newStats(planned));
  }

  it('sends traffic of 256-byte frames when the workload names no size', async () => {
    calls.length = 0;
    started = Date.now();
    await run({ kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 100 }, 200);
    assert.ok(calls.length >= 1, 'the VM was asked for traffic');
    for (const call of calls) {
      assert.equal(call.path, '/traffic/generate');
      assert.equal(call.body['size'], 256);
    }
  });

  it('runs a transfer and a ping every 1000 ms when the workload names no everyMs', async () => {
    calls.length = 0;
    started = Date.now();
    await Promise.all([
      run({ kind: 'transfer', from: 'vm-a1', target: 'vm-a2/echo', count: 10, size: 100 }, 2100),
      run({ kind: 'ping', from: 'vm-a1', target: 'vm-a2/echo' }, 2100),
    ]);
    for (const path of ['/workloads/send', '/workloads/ping']) {
      const times = calls.filter((call) => call.path === path).map((call) => call.atMs);
      assert.equal(times.length, 3, `${path} at 0, 1000 and 2000 ms: ${times.join(', ')}`);
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
        assert.ok(gap >= 950 && gap <= 1300, `${path}: ${gap} ms between runs`);
      }
    }
  });
});
