import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { startTestJaeger, type TestJaeger, waitFor } from '@tenantlab/lab';
import { parseEnv, requestJson } from '@tenantlab/shared';
import { otlpRelayEnv, parseRelayVms, relayRateLimit } from './otlp-relay.config';
import { createOtlpRelay } from './otlp-relay.server';
import { otlpExport } from './otlp-test-exports';
import { SourceRateLimiter } from './source-rate-limiter';
import { VmSources } from './vm-sources';

/** Tenant A's sixteen VMs, each on a loopback address of its own (as each container has its own), and tenant B's one. */
const A_VMS = Array.from({ length: 16 }, (_, i) => ({ vm: `vm-a${i + 1}`, address: `127.0.0.${11 + i}` }));
const B_VM = { vm: 'vm-b1', address: '127.0.0.2' };
const RELAY_VMS = [...A_VMS.map(({ vm }) => `${vm}=tenant-a`), `${B_VM.vm}=tenant-b`].join(',');
/** How long tenant A floods the relay, and tenant B exports beside it. */
const FLOOD_MS = 10_000;

interface JaegerTrace {
  processes: Record<string, { serviceName: string; tags?: { key: string; value: unknown }[] }>;
}

/** One export from `from`: the relay's status. */
function post(port: number, from: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/traces',
        method: 'POST',
        localAddress: from,
        headers: { 'content-type': 'application/x-protobuf' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the OTLP relay with a real Jaeger: a tenant with many VMs exporting flat out', () => {
  let jaeger: TestJaeger;
  let relay: Server;
  let port: number;
  const config = parseEnv(otlpRelayEnv, {
    RELAY_VMS,
    RELAY_MAX_BODY_BYTES: String(8 * 1024),
    // 64 KiB/s for all VMs: sixteen VMs flooding reach it many times over.
    RELAY_BYTES_PER_SECOND_TOTAL: String(64 * 1024),
  });
  const limit = relayRateLimit(config, A_VMS.length + 1);

  before(
    async () => {
      jaeger = await startTestJaeger();
      const vms = parseRelayVms(config.RELAY_VMS);
      const addresses = new Map([...A_VMS, B_VM].map(({ vm, address }) => [vm, address]));
      // The relay's own identification by address; only the name lookup is the test's (no container DNS here).
      const sources = new VmSources(vms, 1000, async (name) => [addresses.get(name) ?? '']);
      relay = createOtlpRelay({
        upstream: jaeger.otlpTracesUrl,
        maxBodyBytes: config.RELAY_MAX_BODY_BYTES,
        limiter: new SourceRateLimiter(limit),
        vms: sources,
      });
      await new Promise<void>((done) => relay.listen(0, '127.0.0.1', done));
      port = (relay.address() as AddressInfo).port;
    },
    { timeout: 120_000 },
  );

  after(async () => {
    relay?.closeAllConnections();
    await new Promise((done) => relay?.close(done));
    await jaeger?.stop();
  });

  it("does not stop another tenant's single VM's spans from reaching Jaeger", { timeout: 90_000 }, async () => {
    const run = randomBytes(4).toString('hex');
    // Tenant A's export: 60 spans, about 6 KB. It claims tenant B in its resource: the relay pins tenant A.
    const flood = await otlpExport(
      { 'service.name': 'tenant-vm', 'tenantlab.tenant.id': 'tenant-b' },
      Array.from({ length: 60 }, (_, i) => `flood-${run}-${i}`),
    );
    const statuses = { taken: 0, refused: 0 };
    const end = performance.now() + FLOOD_MS;
    const floods = A_VMS.map(async ({ address }) => {
      // Flat out: the next export as soon as the last is answered, whatever Retry-After says.
      while (performance.now() < end) {
        const status = await post(port, address, flood);
        if (status === 200) statuses.taken += 1;
        else if (status === 429) statuses.refused += 1;
        else assert.fail(`tenant A's export answered ${status}`);
      }
    });
    // Tenant B's one VM: an export of 30 spans (about 4 KB) every 300 ms, under half of its tenant's share.
    const sent: { operation: string; status: number }[] = [];
    const exporter = (async () => {
      await pause(1000); // once the flood has drained the global bucket
      for (let i = 0; performance.now() < end; i++) {
        const operation = `tenant-b-${run}-${i}`;
        const names = [operation, ...Array.from({ length: 29 }, (_, k) => `${operation}/${k}`)];
        const body = await otlpExport({ 'service.name': 'tenant-vm' }, names);
        sent.push({ operation, status: await post(port, B_VM.address, body) });
        await pause(300); // the exporter's pace, not a wait for anything
      }
    })();
    await Promise.all([...floods, exporter]);

    assert.ok(sent.length >= 20, `tenant B exported ${sent.length} times`);
    assert.deepEqual(
      sent.filter(({ status }) => status !== 200),
      [],
      "tenant B's exports the relay did not take",
    );
    // The flood was one, and held: refused far more often than taken, and under the cap (plus one global burst).
    assert.ok(statuses.refused > 10 * statuses.taken, `tenant A: ${JSON.stringify(statuses)}`);
    const floodBytes = statuses.taken * (flood.length + limit.requestCostBytes);
    const bound = limit.globalBurstBytes + (FLOOD_MS / 1000) * limit.globalBytesPerSecond;
    assert.ok(floodBytes <= bound, `tenant A got ${floodBytes} bytes through, at most ${bound}`);
    assert.ok(statuses.taken > 0, 'tenant A got some through too');

    // Every one of tenant B's exports is in Jaeger, as vm-b1's of tenant B.
    const missing = await waitFor("tenant B's spans in Jaeger", 30_000, async () => {
      const left: string[] = [];
      for (const { operation } of sent) {
        const query = new URLSearchParams({ service: 'tenant-vm', operation, limit: '5', lookback: '1h' });
        const { status, body } = await requestJson<{ data?: JaegerTrace[] }>(
          'GET',
          `${jaeger.queryUrl}/api/traces?${query.toString()}`,
        );
        assert.equal(status, 200);
        const [trace] = body.data ?? [];
        if (!trace) {
          left.push(operation);
          continue;
        }
        const tags = Object.values(trace.processes).flatMap((process) => process.tags ?? []);
        const tag = (key: string): unknown => tags.find((t) => t.key === key)?.value;
        assert.equal(tag('service.instance.id'), B_VM.vm, operation);
        assert.equal(tag('tenantlab.tenant.id'), 'tenant-b', operation);
      }
      return left.length === 0 ? left : undefined;
    });
    assert.deepEqual(missing, []);
    // Tenant A's spans, which claimed tenant B, are tenant A's in Jaeger: the relay counted them against tenant A.
    const query = new URLSearchParams({
      service: 'tenant-vm',
      operation: `flood-${run}-0`,
      limit: '5',
      lookback: '1h',
    });
    const { body } = await requestJson<{ data?: JaegerTrace[] }>(
      'GET',
      `${jaeger.queryUrl}/api/traces?${query.toString()}`,
    );
    const claimed = (body.data ?? []).flatMap((trace) =>
      Object.values(trace.processes).flatMap((process) =>
        (process.tags ?? []).filter((t) => t.key === 'tenantlab.tenant.id').map((t) => t.value),
      ),
    );
    assert.ok(claimed.length > 0, "tenant A's spans in Jaeger");
    assert.deepEqual([...new Set(claimed)], ['tenant-a']);
  });
});
