import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DependencyUnavailableError } from '../errors';
import { requestBytes, requestJson } from './json-http.client';

const SECRET = 's3cret-control-token';

/** A loopback port nothing listens on: bound, then closed, so a connection to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('requestJson and requestBytes', () => {
  let server: Server;
  let url: string;
  let authorization: string | undefined;

  before(async () => {
    server = createServer((request, response) => {
      authorization = request.headers.authorization;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((done) => server.close(() => done())));

  it("sends a URL's user info as basic auth (how the lab's tools reach a VM's control API)", async () => {
    const answer = await requestJson<{ ok: boolean }>('GET', `http://lab:${SECRET}@${new URL(url).host}/x`);
    assert.deepEqual(answer, { status: 200, body: { ok: true } });
    assert.equal(authorization, `Basic ${Buffer.from(`lab:${SECRET}`).toString('base64')}`);
  });

  it("names the call in a failure without the URL's user info or the headers' secrets", async () => {
    const port = await closedPort();
    const target = `http://lab:${SECRET}@127.0.0.1:${port}/traffic/received`;
    for (const attempt of [
      () => requestJson('GET', target, undefined, 1000, { authorization: `Bearer ${SECRET}` }),
      () => requestBytes(target, 1000, { authorization: `Bearer ${SECRET}` }),
    ]) {
      const error = await attempt().then(
        () => assert.fail('a closed port answered'),
        (reason: unknown) => reason,
      );
      assert.ok(error instanceof DependencyUnavailableError);
      assert.match(error.message, new RegExp(`GET http://127\\.0\\.0\\.1:${port}/traffic/received failed`));
      assert.ok(!error.message.includes(SECRET), error.message);
      assert.ok(!JSON.stringify(error).includes(SECRET), 'nor in its serialised form');
    }
  });
});
