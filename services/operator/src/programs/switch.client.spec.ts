import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '@tenantlab/lab';
import { DomainError } from '@tenantlab/shared';
import { SwitchClient } from './switch.client';

/** What a failing call rejects with, as the tenant would see it: code, retriable, message. */
async function failure(call: Promise<unknown>): Promise<DomainError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    return error;
  }
  assert.fail('the call succeeded');
}

/** README: an allocator or switch that does not answer, or fails, is 503 DEPENDENCY_UNAVAILABLE (retriable). */
describe('SwitchClient when the switch does not answer or fails', () => {
  let failing: Server;
  let failingUrl: string;

  before(async () => {
    failing = createServer((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('boom');
    });
    await new Promise<void>((done) => failing.listen(0, '127.0.0.1', done));
    const address = failing.address();
    assert.ok(address && typeof address === 'object');
    failingUrl = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await new Promise((done) => failing.close(done));
  });

  it('answers DEPENDENCY_UNAVAILABLE, retriable, naming the switch, when nothing listens', async () => {
    const client = new SwitchClient({
      SERVICE_TOKEN: 'f'.repeat(64),
      SWITCH_URL: `http://127.0.0.1:${await freeLoopbackPort()}`,
    });
    const error = await failure(client.readCounter('tenant-a', 'hits', 0));
    assert.equal(error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.match(error.message, /the switch did not answer GET \/tenants\/tenant-a\/counters\/hits\/0/);
  });

  it('answers DEPENDENCY_UNAVAILABLE, retriable, when the switch fails with a 5xx', async () => {
    const client = new SwitchClient({ SERVICE_TOKEN: 'f'.repeat(64), SWITCH_URL: failingUrl });
    const error = await failure(client.addEntry('tenant-a', 'acl', { key: [{ value: 1 }], action: 'allow' }));
    assert.equal(error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.match(error.message, /switch/);
  });
});

describe("SwitchClient's impairment calls", () => {
  it("PUT, GET and DELETE the switch's /ports/:vm/impairment with the spec and the service token", async () => {
    const seen: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''} ${body}`);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ vm: 'vm-a2', flushed: 0 }));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    try {
      const client = new SwitchClient({
        SERVICE_TOKEN: 'f'.repeat(64),
        SWITCH_URL: `http://127.0.0.1:${address.port}`,
      });
      await client.setImpairment('vm-a2', { delayMs: 5, lossRate: 0.01 });
      await client.impairment('vm-a2');
      assert.deepEqual(await client.clearImpairment('vm-a2'), { vm: 'vm-a2', flushed: 0 });
      const token = `Bearer ${'f'.repeat(64)}`;
      assert.deepEqual(seen, [
        `PUT /ports/vm-a2/impairment ${token} {"delayMs":5,"lossRate":0.01}`,
        `GET /ports/vm-a2/impairment ${token} `,
        `DELETE /ports/vm-a2/impairment ${token} `,
      ]);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
