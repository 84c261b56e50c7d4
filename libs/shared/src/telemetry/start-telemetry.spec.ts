import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const PACKAGE_ROOT = resolve(__dirname, '..', '..');

/**
 * A process that starts telemetry as a service's instrumentation.ts does (`startTelemetry('operator')`), records one
 * span and shuts down, which exports it. With BLOCK_EXPORT set, the export request is recorded and stopped before it
 * leaves, so the default endpoint can be checked without anything listening there.
 */
const CHILD = `
const dc = require('node:diagnostics_channel');
if (process.env.BLOCK_EXPORT) {
  dc.subscribe('http.client.request.start', ({ request }) => {
    console.log(JSON.stringify({ host: request.getHeader('host'), method: request.method, path: request.path }));
    request.destroy(new Error('not sent'));
  });
}
const { startTelemetry, shutdownTelemetry } = require('./dist/telemetry');
const api = require(require.resolve('@opentelemetry/api', { paths: [process.cwd()] }));
startTelemetry('operator');
api.trace.getTracer('spec').startSpan('probe').end();
shutdownTelemetry().then(() => process.exit(0), () => process.exit(0));
`;

/** Starts telemetry and prints the packages it loaded, one line each (what every service and VM pays to start). */
const LOADED = `
const { startTelemetry } = require('./dist/telemetry');
startTelemetry('tenant-vm');
const names = Object.keys(require.cache).map((file) => /.*node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(file)?.[1]);
console.log([...new Set(names.filter(Boolean))].sort().join('\\n'));
`;

/**
 * Starts telemetry, serves HTTP and calls itself at each of CALL_PATHS (a VM heartbeat, a readiness probe, a circuits
 * call), then shuts down (which exports). Both ends of each call are instrumented, as a VM and the operator are.
 */
const CALLS = `
const { startTelemetry, shutdownTelemetry } = require('./dist/telemetry');
startTelemetry('tenant-vm');
const http = require('node:http');
const server = http.createServer((request, response) => response.end('{}'));
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  for (const path of process.env.CALL_PATHS.split(',')) {
    await new Promise((done) => http.request({ host: '127.0.0.1', port, path, method: 'POST' }, (r) => r.resume().on('end', done)).end());
  }
  server.close();
  shutdownTelemetry().then(() => process.exit(0), () => process.exit(0));
});
`;

/** Runs the child (CHILD unless told) with only PATH and `env`; its stdout. */
function runChild(env: Record<string, string>, script = CHILD): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: PACKAGE_ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

/** A stand-in OTLP/HTTP collector: what each request asked for, and its body as text (protobuf keeps strings whole). */
async function withCollector(
  run: (endpoint: string) => Promise<void>,
): Promise<{ method: string; url: string; contentType: string; body: string }[]> {
  const received: { method: string; url: string; contentType: string; body: string }[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        contentType: request.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('latin1'),
      });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((closed) => server.close(closed));
  }
  return received;
}

/**
 * The resource's `service.name` in an OTLP protobuf export: the key, then the value as an AnyValue string
 * (0x12 length, 0x0a length, the bytes). Other attributes (the process's command line) may mention names too.
 */
function serviceName(body: string): string | undefined {
  const at = body.indexOf('service.name');
  if (at < 0) return undefined;
  const value = body.slice(at + 'service.name'.length);
  if (value.charCodeAt(0) !== 0x12 || value.charCodeAt(2) !== 0x0a) return undefined;
  return value.slice(4, 4 + value.charCodeAt(3));
}

/** The README's Configuration table: `OTEL_SERVICE_NAME` defaults to the service name, the endpoint to :4318. */
describe('startTelemetry and the OTEL_* variables', () => {
  it('loads the trace SDK only: no metrics or logs SDK, no gRPC, Zipkin or Prometheus exporter (memory per VM)', async () => {
    const loaded = (await runChild({}, LOADED)).trim().split('\n');
    assert.ok(loaded.includes('@opentelemetry/sdk-trace'), loaded.join(', '));
    assert.ok(loaded.includes('@opentelemetry/exporter-trace-otlp-proto'), loaded.join(', '));
    const unwanted = loaded.filter((name) =>
      /^@opentelemetry\/(sdk-node|sdk-logs|exporter-(logs|metrics)-|exporter-zipkin|exporter-prometheus|.*grpc)/.test(
        name,
      ),
    );
    assert.deepEqual(unwanted, []);
  });

  it('traces calls, but not VM heartbeats or readiness probes, on either end', async () => {
    const exports = await withCollector((endpoint) =>
      runChild(
        // The paths in the environment: the resource holds the command line, which would name them all.
        { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, CALL_PATHS: '/vms/vm-a1/heartbeat,/ready,/vms/vm-a1/circuits' },
        CALLS,
      ).then(() => undefined),
    );
    const bodies = exports.map((e) => e.body).join('');
    assert.equal(bodies.split('/vms/vm-a1/circuits').length - 1 >= 2, true, 'client and server span of the call');
    assert.ok(!bodies.includes('/heartbeat'), 'no span of the heartbeat');
    assert.ok(!bodies.includes('/ready'), 'no span of the probe');
  });

  it('exports to http://localhost:4318/v1/traces when OTEL_EXPORTER_OTLP_ENDPOINT is not set', async () => {
    const out = await runChild({ BLOCK_EXPORT: '1' });
    const attempts = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { host: string; method: string; path: string });
    assert.deepEqual(attempts[0], { host: 'localhost:4318', method: 'POST', path: '/v1/traces' });
  });

  it('sends OTLP/HTTP protobuf to OTEL_EXPORTER_OTLP_ENDPOINT, named after the service unless OTEL_SERVICE_NAME says', async () => {
    const byDefault = await withCollector((endpoint) =>
      runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).then(() => undefined),
    );
    assert.equal(byDefault.length, 1, JSON.stringify(byDefault.map((r) => r.url)));
    assert.equal(byDefault[0].method, 'POST');
    assert.equal(byDefault[0].url, '/v1/traces');
    assert.equal(byDefault[0].contentType, 'application/x-protobuf');
    assert.ok(byDefault[0].body.includes('probe'), 'the span is in the export');
    assert.equal(serviceName(byDefault[0].body), 'operator', 'service.name is the service');

    const named = await withCollector((endpoint) =>
      runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'named-by-env' }).then(() => undefined),
    );
    assert.equal(named.length, 1);
    assert.equal(serviceName(named[0].body), 'named-by-env', 'OTEL_SERVICE_NAME replaces the default');
  });
});
