import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError, tokenSha256 } from '@tenantlab/shared';
import { parseRelayVmTokens } from './otlp-relay.config';
import { createOtlpRelay } from './otlp-relay.server';
import { otlpExport, resourceAttributes } from './otlp-test-exports';
import { SourceRateLimiter } from './source-rate-limiter';
import { VmTokens } from './vm-tokens';

const VMS = [
  { vm: 'vm-a1', tenant: 'tenant-a' },
  { vm: 'vm-b1', tenant: 'tenant-b' },
];
const TOKENS: Record<string, string> = { 'vm-a1': 'a'.repeat(64), 'vm-b1': 'b'.repeat(64) };
const JAEGER_AUTHORIZATION = `Basic ${Buffer.from(`ingest:${'i'.repeat(64)}`).toString('base64')}`;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

/**
 * A local lab's relay: every VM connects from 127.0.0.1, so it is known by its trace export token, and Jaeger takes
 * the forwarded export only with the lab's ingest password.
 */
describe('the OTLP relay, knowing VMs by token (local mode)', () => {
  const received: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  let relay: Server;
  let url: string;

  before(async () => {
    const vms = parseRelayVmTokens(VMS, VMS.map(({ vm }) => `${vm}=${tokenSha256(TOKENS[vm] ?? '')}`).join(','));
    relay = createOtlpRelay({
      upstream: `http://127.0.0.1:${await listen(upstream)}/v1/traces`,
      upstreamAuthorization: JAEGER_AUTHORIZATION,
      maxBodyBytes: 64 * 1024,
      limiter: new SourceRateLimiter({
        bytesPerSecond: 1e9,
        burstBytes: 1e9,
        requestCostBytes: 0,
        maxSources: 2,
        globalBytesPerSecond: 1e9,
        globalBurstBytes: 1e9,
      }),
      vms: new VmTokens(vms),
    });
    url = `http://127.0.0.1:${await listen(relay)}`;
  });

  after(async () => {
    relay.closeAllConnections();
    upstream.closeAllConnections();
    await new Promise((done) => relay.close(done));
    await new Promise((done) => upstream.close(done));
  });

  const send = (body: Buffer, authorization?: string): Promise<Response> =>
    fetch(`${url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', ...(authorization ? { authorization } : {}) },
      body,
    });

  it("pins an export to the VM whose token it presents, whatever it claims, and forwards it with Jaeger's password", async () => {
    received.length = 0;
    const forged = await otlpExport(
      { 'service.name': 'switch', 'service.instance.id': 'vm-a1', 'tenantlab.tenant.id': 'tenant-a' },
      ['posing'],
    );
    const answer = await send(forged, `Bearer ${TOKENS['vm-b1']}`);
    assert.equal(answer.status, 200, await answer.text());
    assert.equal(received.length, 1);
    assert.deepEqual(resourceAttributes(received[0]?.body ?? Buffer.alloc(0)), [
      { 'service.name': 'tenant-vm', 'service.instance.id': 'vm-b1', 'tenantlab.tenant.id': 'tenant-b' },
    ]);
    assert.equal(received[0]?.headers.authorization, JAEGER_AUTHORIZATION);
  });

  it('refuses an export with no token, a made-up one or one not sent as a bearer (401), and forwards nothing', async () => {
    received.length = 0;
    const body = await otlpExport({ 'service.name': 'tenant-vm' }, ['x']);
    for (const authorization of [
      undefined,
      `Bearer ${'c'.repeat(64)}`,
      `Basic ${Buffer.from(`lab:${TOKENS['vm-a1']}`).toString('base64')}`,
      JAEGER_AUTHORIZATION,
    ]) {
      const answer = await send(body, authorization);
      assert.equal(answer.status, 401, `${authorization ?? 'no token'}: ${answer.status}`);
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer');
      assert.match(await answer.text(), /trace export token/);
    }
    assert.equal(received.length, 0);
  });

  it("answers the lab's readiness probe", async () => {
    const answer = await fetch(`${url}/ready`);
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { status: 'ready' });
  });

  it('takes a token hash for each VM it relays and for no other, else says which (ConfigError)', () => {
    const hash = tokenSha256('t');
    assert.throws(
      () => parseRelayVmTokens(VMS, `vm-a1=${hash}`),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /RELAY_VM_TOKEN_SHA256S has no token hash for vm-b1/);
        return true;
      },
    );
    assert.throws(
      () => parseRelayVmTokens(VMS, `vm-a1=${hash},vm-b1=${hash},vm-c1=${hash}`),
      /RELAY_VM_TOKEN_SHA256S names VMs RELAY_VMS does not: vm-c1/,
    );
  });
});
