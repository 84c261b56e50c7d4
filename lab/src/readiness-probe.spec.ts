import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { probeReady } from './readiness-probe';

/** A service on loopback whose /ready answers with the status and body set before each probe. */
describe('probeReady', () => {
  let server: Server;
  let url = '';
  let answer: { status: number; body: unknown } = { status: 200, body: { ready: true } };

  before(async () => {
    server = createServer((_request, response) => {
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is ready on 200', async () => {
    answer = { status: 200, body: { status: 'ready', ready: true, checks: { redis: { ok: true } } } };
    assert.deepEqual(await probeReady(url), { ready: true, detail: 'ready' });
  });

  it('names the failing checks on 503', async () => {
    answer = {
      status: 503,
      body: {
        status: 'not-ready',
        ready: false,
        checks: { redis: { ok: false, detail: 'ECONNREFUSED' }, kafka: { ok: true } },
      },
    };
    assert.deepEqual(await probeReady(url), { ready: false, detail: 'redis: ECONNREFUSED' });
  });

  it("gives a degraded service's reasons, so `status` says what it is still waiting for", async () => {
    answer = {
      status: 503,
      body: {
        status: 'degraded',
        ready: false,
        checks: { store: { ok: true } },
        reasons: ['Redis restarted empty; VMs not registered again yet: vm-b2', 42],
      },
    };
    assert.deepEqual(await probeReady(url), {
      ready: false,
      detail: 'Redis restarted empty; VMs not registered again yet: vm-b2',
    });
  });

  it('falls back to the status code when the body names nothing', async () => {
    answer = { status: 503, body: 'busy' };
    assert.deepEqual(await probeReady(url), { ready: false, detail: 'HTTP 503' });
  });
});
