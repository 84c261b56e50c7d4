import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { applyEvent } from './event-handlers';
import type { ScenarioContext } from './scenario-context';

interface Call {
  method: string;
  url: string;
  authorization: string;
  body: unknown;
}

/** A stand-in operator: answers the impairment route as the test says, and records each call. */
describe('timeline event handlers', () => {
  let server: Server;
  let url: string;
  const calls: Call[] = [];
  let routeExists = true;

  before(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        calls.push({
          method: request.method ?? '',
          url: request.url ?? '',
          authorization: request.headers.authorization ?? '',
          body: text ? JSON.parse(text) : undefined,
        });
        const [status, body] = routeExists
          ? request.method === 'DELETE'
            ? [204, undefined]
            : [200, { vm: 'vm-a2' }]
          : [
              404,
              { error: { code: 'NOT_FOUND', message: `Cannot ${request.method} ${request.url}`, retriable: false } },
            ];
        response.writeHead(status, { 'content-type': 'application/json' }).end(body ? JSON.stringify(body) : '');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    return new Promise<void>((done) => server.close(() => done()));
  });

  const context = (): ScenarioContext =>
    ({
      state: { components: [{ name: 'operator', kind: 'service', url, pid: 1 }] },
      operatorAdminHeaders: { authorization: 'Bearer operator-admin' },
    }) as unknown as ScenarioContext;

  it('impairs a port through the operator admin route, then clears it after forMs', async () => {
    calls.length = 0;
    routeExists = true;
    const result = await applyEvent(
      { kind: 'impair', atMs: 0, vm: 'vm-a2', forMs: 50, delayMs: 5, lossRate: 0.01, seed: 9, label: 'x' },
      context(),
    );
    assert.deepEqual(
      calls.map((c) => [c.method, c.url, c.authorization]),
      [
        ['PUT', '/vms/vm-a2/impairment', 'Bearer operator-admin'],
        ['DELETE', '/vms/vm-a2/impairment', 'Bearer operator-admin'],
      ],
    );
    assert.deepEqual(calls[0]?.body, { delayMs: 5, lossRate: 0.01, seed: 9 });
    assert.match(result, /for 50 ms, then cleared/);
  });

  it("fails with the route's own answer where the operator has no impairment route", async () => {
    calls.length = 0;
    routeExists = false;
    await assert.rejects(
      applyEvent({ kind: 'impair', atMs: 0, vm: 'vm-a2', delayMs: 5 }, context()),
      /operator PUT \/vms\/vm-a2\/impairment answered 404 NOT_FOUND: Cannot PUT \/vms\/vm-a2\/impairment/,
    );
    await assert.rejects(
      applyEvent({ kind: 'clear-impairment', atMs: 0, vm: 'vm-a2' }, context()),
      /operator DELETE \/vms\/vm-a2\/impairment answered 404/,
    );
    assert.equal(calls.length, 2);
  });
});
