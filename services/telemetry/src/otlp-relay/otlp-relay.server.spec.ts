import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseEnv } from '@tenantlab/shared';
import { otlpRelayEnv, relayRateLimit } from './otlp-relay.config';
import { otlpExport, resourceAttributes, spanNames } from './otlp-test-exports';
import { createOtlpRelay } from './otlp-relay.server';
import { SourceRateLimiter } from './source-rate-limiter';
import type { VmIdentifier } from './vm-identifier';

const MAX_BODY = 64 * 1024;
/** Two VMs, told apart by the loopback address each connects from (as containers are by theirs). */
const VMS: Record<string, { vm: string; tenant: string }> = {
  '127.0.0.1': { vm: 'vm-a1', tenant: 'tenant-a' },
  '127.0.0.2': { vm: 'vm-b1', tenant: 'tenant-b' },
};

/** The relay's VMs as VmSources knows them, by the address each connects from. */
const BY_ADDRESS: VmIdentifier = {
  unidentified: { status: 403, message: 'not a VM of this lab' },
  identify: async (request) => VMS[(request.socket.remoteAddress ?? '').replace('::ffff:', '')],
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
      vms: BY_ADDRESS,
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
      vms: { ...BY_ADDRESS, identify: async () => VMS['127.0.0.1'] },
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

describe("the OTLP relay's global cap, as its config sets it (README: RELAY_BYTES_PER_SECOND_TOTAL)", () => {
  const RELAY_VMS = 'vm-a1=tenant-a,vm-b1=tenant-b';

  it('defaults to 2 MiB/s for all VMs together, eight VMs at their full 256 KiB/s share', () => {
    const config = parseEnv(otlpRelayEnv, { RELAY_VMS });
    assert.equal(config.RELAY_BYTES_PER_SECOND_TOTAL, 2 * 1024 * 1024);
    assert.equal(config.RELAY_BYTES_PER_SECOND_PER_VM, 256 * 1024);
    const limit = relayRateLimit(config, 2);
    assert.equal(limit.globalBytesPerSecond, 2 * 1024 * 1024);
    assert.equal(limit.bytesPerSecond, 256 * 1024);
    assert.equal(limit.maxSources, 2);
  });

  it('holds two VMs exporting flat out, each far under its own share, to the cap together (429, Retry-After)', async () => {
    // Each VM may send 1 MiB/s alone; together the relay forwards 16 KiB/s (plus one global burst).
    const config = parseEnv(otlpRelayEnv, {
      RELAY_VMS,
      RELAY_MAX_BODY_BYTES: String(16 * 1024),
      RELAY_BYTES_PER_SECOND_PER_VM: String(1024 * 1024),
      RELAY_BYTES_PER_SECOND_TOTAL: String(16 * 1024),
    });
    const limit = relayRateLimit(config, 2);
    let now = 0;
    let forwarded = 0;
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        forwarded += 1;
        res.writeHead(200).end();
      });
    });
    const relay = createOtlpRelay({
      upstream: `http://127.0.0.1:${await listen(upstream)}/v1/traces`,
      maxBodyBytes: config.RELAY_MAX_BODY_BYTES,
      limiter: new SourceRateLimiter(limit, () => now),
      vms: BY_ADDRESS,
    });
    const port = await listen(relay);
    try {
      const body = await otlpExport({ 'service.name': 'tenant-vm' }, ['x'.repeat(8000)]);
      const taken: Record<string, number> = { '127.0.0.1': 0, '127.0.0.2': 0 };
      let refused = 0;
      const seconds = 5;
      // Both VMs export an 8 KB body every 50 ms (160 KB/s each) for `seconds` of the relay's clock.
      for (let step = 0; step < seconds * 20; step++) {
        for (const from of Object.keys(taken)) {
          const answer = await call(port, { body, from });
          if (answer.status === 200) taken[from] = (taken[from] ?? 0) + 1;
          else {
            assert.equal(answer.status, 429, answer.text);
            assert.ok(Number(answer.headers['retry-after']) >= 1, 'a refusal says when to come back');
            refused += 1;
          }
        }
        now += 50;
      }
      const cost = body.length + limit.requestCostBytes;
      const together = (forwarded * cost) / seconds;
      const bound = (limit.globalBurstBytes + seconds * limit.globalBytesPerSecond) / seconds;
      assert.ok(refused > 0, 'exports were refused');
      assert.ok(together <= bound, `together ${together} B/s forwarded, at most ${bound} B/s`);
      assert.ok(together >= 0.8 * limit.globalBytesPerSecond, `the cap is used: ${together} B/s`);
      const [a = 0, b = 0] = Object.values(taken);
      assert.ok(Math.min(a, b) >= 0.35 * (a + b), `shared fairly: ${a} and ${b} exports`);
    } finally {
      relay.closeAllConnections();
      upstream.closeAllConnections();
      await new Promise((done) => relay.close(done));
      await new Promise((done) => upstream.close(done));
    }
  });
});
