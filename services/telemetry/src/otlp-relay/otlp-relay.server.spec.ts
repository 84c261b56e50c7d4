import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { otlpExport, resourceAttributes, spanNames } from './otlp-test-exports';
import { createOtlpRelay } from './otlp-relay.server';
import { SourceRateLimiter } from './source-rate-limiter';

const MAX_BODY = 64 * 1024;
/** Two VMs, told apart by the loopback address each connects from (as containers are by theirs). */
const VMS: Record<string, { vm: string; tenant: string }> = {
  '127.0.0.1': { vm: 'vm-a1', tenant: 'tenant-a' },
  '127.0.0.2': { vm: 'vm-b1', tenant: 'tenant-b' },
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function call(
  port: number,
  options: { path?: string; method?: string; body?: Buffer; from?: string; headers?: Record<string, string> },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/v1/traces',
        method: options.method ?? 'POST',
        localAddress: options.from ?? '127.0.0.1',
        headers: { 'content-type': 'application/x-protobuf', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    // The relay may drop the connection once it has answered a refused body: the answer is what counts.
    req.on('error', (error) => (error.message.includes('EPIPE') ? undefined : reject(error)));
    req.end(options.body);
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

describe('the OTLP relay', () => {
  const received: Buffer[] = [];
  const upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  let now = 0;
  let relay: Server;
  let port: number;
  let upstreamPort: number;

  before(async () => {
    upstreamPort = await listen(upstream);
    relay = createOtlpRelay({
      upstream: `http://127.0.0.1:${upstreamPort}/v1/traces`,
      maxBodyBytes: MAX_BODY,
      limiter: new SourceRateLimiter(
        {
          bytesPerSecond: 10_000,
          burstBytes: 2 * (MAX_BODY + 1024),
          requestCostBytes: 1024,
          maxSources: 2,
          globalBytesPerSecond: 1e9,
          globalBurstBytes: 1e9,
        },
        () => now,
      ),
      identify: async (address) => VMS[address.replace('::ffff:', '')],
    });
    port = await listen(relay);
  });

  after(async () => {
    relay.closeAllConnections();
    upstream.closeAllConnections();
    await new Promise((done) => relay.close(done));
    await new Promise((done) => upstream.close(done));
  });

  it("forwards a VM's export to Jaeger with its resource pinned to that VM, whatever it claimed", async () => {
    received.length = 0;
    const forged = await otlpExport({ 'service.name': 'operator', 'tenantlab.tenant.id': 'tenant-b' }, ['posing']);
    const answer = await call(port, { body: forged });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(received.length, 1);
    const [forwarded] = received;
    assert.ok(forwarded);
    assert.deepEqual(resourceAttributes(forwarded), [
      { 'service.name': 'tenant-vm', 'service.instance.id': 'vm-a1', 'tenantlab.tenant.id': 'tenant-a' },
    ]);
    assert.deepEqual(spanNames(forwarded), ['posing']);
  });

  it('refuses an export over the size limit with 413, whether declared or streamed, and forwards nothing', async () => {
    received.length = 0;
    now += 60_000;
    const big = Buffer.alloc(MAX_BODY + 1, 0x0a);
    const declared = await call(port, { body: big });
    assert.equal(declared.status, 413);
    assert.match(declared.text, new RegExp(`at most ${MAX_BODY} bytes`));
    const streamed = await call(port, { body: big, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(streamed.status, 413);
    assert.equal(received.length, 0);
  });

  it("holds a VM that exports too fast to its share (429, Retry-After) while another VM's exports go through", async () => {
    now += 60_000;
    const body = await otlpExport({ 'service.name': 'tenant-vm' }, ['x'.repeat(Math.floor(MAX_BODY * 0.37))]);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(port, { body })).status);
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    const held = await call(port, { body });
    assert.equal(held.status, 429);
    assert.ok(Number(held.headers['retry-after']) >= 1);
    assert.equal((await call(port, { body, from: '127.0.0.2' })).status, 200, 'the other VM is not held');
    now += 60_000;
    assert.equal((await call(port, { body })).status, 200, 'its share back once it slowed down');
  });

  it("serves nothing of Jaeger's: no query API, only POST /v1/traces of protobuf from a lab VM", async () => {
    now += 60_000;
    const body = await otlpExport({}, ['a']);
    assert.equal((await call(port, { path: '/api/traces?service=tenant-vm', method: 'GET' })).status, 404);
    assert.equal((await call(port, { path: '/api/services', method: 'GET' })).status, 404);
    assert.equal((await call(port, { path: '/v1/metrics', body })).status, 404);
    assert.equal((await call(port, { method: 'GET' })).status, 405);
    assert.equal((await call(port, { body, headers: { 'content-type': 'application/json' } })).status, 415);
    assert.equal((await call(port, { body, headers: { 'content-encoding': 'gzip' } })).status, 415);
    assert.equal((await call(port, { body, from: '127.0.0.3' })).status, 403);
    assert.equal((await call(port, { body: Buffer.from('{"resourceSpans":[]}') })).status, 400);
    assert.equal((await call(port, { path: '/health', method: 'GET' })).status, 200);
  });

  it('answers 502 when Jaeger does not take the export', async () => {
    now += 60_000;
    const down = createOtlpRelay({
      upstream: 'http://127.0.0.1:1/v1/traces',
      maxBodyBytes: MAX_BODY,
      limiter: new SourceRateLimiter({
        bytesPerSecond: 1e6,
        burstBytes: 1e6,
        requestCostBytes: 0,
        maxSources: 1,
        globalBytesPerSecond: 1e9,
        globalBurstBytes: 1e9,
      }),
      identify: async () => VMS['127.0.0.1'],
    });
    const downPort = await listen(down);
    try {
      assert.equal((await call(downPort, { body: await otlpExport({}, ['a']) })).status, 502);
    } finally {
      down.closeAllConnections();
      await new Promise((done) => down.close(done));
    }
  });
});
