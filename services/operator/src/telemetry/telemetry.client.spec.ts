import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '@tenantlab/lab';
import { DomainError } from '@tenantlab/shared';
import { TelemetryClient } from './telemetry.client';

const SERVICE_TOKEN = 'f'.repeat(64);
const PCAP = Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);

describe('TelemetryClient', () => {
  let telemetry: Server;
  let telemetryUrl = '';
  const asked: { url?: string; authorization?: string }[] = [];

  before(async () => {
    // Stands in for telemetry: answers its three per-tenant reads as telemetry does.
    telemetry = createServer((request: IncomingMessage, response) => {
      asked.push({ url: request.url, authorization: request.headers.authorization });
      if (request.url === '/traces/tenant-a/pcap') {
        response.writeHead(200, {
          'content-type': 'application/vnd.tcpdump.pcap',
          'x-tenantlab-frames': '3',
          'x-tenantlab-traces-without-bytes': '1',
        });
        response.end(PCAP);
        return;
      }
      const [path = ''] = (request.url ?? '').split('?');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(
          path.startsWith('/traces/') ? { tenant: 'tenant-a', traces: [{ n: 1 }] } : { tenant: 'tenant-a', events: [] },
        ),
      );
    });
    await new Promise<void>((listening) => telemetry.listen(0, '127.0.0.1', listening));
    telemetryUrl = `http://127.0.0.1:${(telemetry.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((done) => telemetry.close(done));
  });

  it("passes telemetry's answers through: traces, events with ?limit= and ?event=, the pcap file", async () => {
    const client = new TelemetryClient({ SERVICE_TOKEN, TELEMETRY_URL: telemetryUrl });
    assert.deepEqual(await client.traces('tenant-a', { limit: '5' }), { tenant: 'tenant-a', traces: [{ n: 1 }] });
    assert.deepEqual(await client.events('tenant-a', { limit: '7', event: 'heavy_hitter' }), {
      tenant: 'tenant-a',
      events: [],
    });
    const pcap = await client.pcap('tenant-a');
    assert.deepEqual(pcap.file, PCAP);
    assert.equal(pcap.frames, '3');
    assert.deepEqual(
      asked.map((call) => call.url),
      ['/traces/tenant-a?limit=5', '/events/tenant-a?limit=7&event=heavy_hitter', '/traces/tenant-a/pcap'],
    );
    assert.ok(
      asked.every((call) => call.authorization === `Bearer ${SERVICE_TOKEN}`),
      'with its service credential',
    );
  });

  it('answers DEPENDENCY_UNAVAILABLE, retriable, for each read, when telemetry does not answer', async () => {
    const client = new TelemetryClient({
      SERVICE_TOKEN,
      TELEMETRY_URL: `http://127.0.0.1:${await freeLoopbackPort()}`,
    });
    for (const read of [
      () => client.traces('tenant-a', {}),
      () => client.events('tenant-a', {}),
      () => client.pcap('tenant-a'),
    ]) {
      const error = await read().then(
        () => assert.fail('a read from a telemetry that does not answer succeeded'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof DomainError, String(error));
      assert.equal(error.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(error.retriable, true);
      assert.match(error.message, /telemetry/);
    }
  });
});
