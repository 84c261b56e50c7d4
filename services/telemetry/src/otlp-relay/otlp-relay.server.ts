import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MalformedOtlpError, pinResourceAttributes } from './otlp-wire';
import type { SourceRateLimiter } from './source-rate-limiter';
import type { VmIdentifier } from './vm-identifier';

export interface OtlpRelayOptions {
  /** Jaeger's OTLP/HTTP traces endpoint (`http://jaeger:4318/v1/traces`), on the trusted network. */
  upstream: string;
  maxBodyBytes: number;
  limiter: SourceRateLimiter;
  /** Which lab VM sent a request (by address in Docker mode, by token locally); anyone else is refused. */
  vms: VmIdentifier;
  /**
   * The `Authorization` header Jaeger's OTLP receiver takes, sent with every forwarded export: a local lab's Jaeger
   * takes spans only with it (every VM reaches 127.0.0.1 there). Unset: none (Docker mode, where no VM reaches Jaeger).
   */
  upstreamAuthorization?: string;
  upstreamTimeoutMs?: number;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The only telemetry endpoint a tenant VM reaches: OTLP/HTTP protobuf trace export (`POST /v1/traces`), nothing of
 * Jaeger's query API or admin ports. Each export is checked (size, rate per tenant and per VM), its resource attributes are pinned to
 * the sending VM (`service.name`, `service.instance.id`, `tenantlab.tenant.id`: a VM cannot pose as another VM or as a
 * service), and it is forwarded to Jaeger on the trusted network. `GET /health` answers the health check and
 * `GET /ready` the lab's readiness probe (local mode).
 */
export function createOtlpRelay(options: OtlpRelayOptions): Server {
  return createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      const refusal =
        error instanceof Refusal
          ? error
          : error instanceof MalformedOtlpError
            ? new Refusal(400, `not an OTLP protobuf trace export: ${error.message}`)
            : new Refusal(502, 'the trace store did not take the export; retry later');
      if (!response.headersSent) {
        response.writeHead(refusal.status, { 'content-type': 'text/plain', ...refusal.headers, connection: 'close' });
      }
      response.end(`${refusal.message}\n`);
      if (!request.complete) discardBody(request, 4 * options.maxBodyBytes);
    });
  });
}

async function handle(request: IncomingMessage, response: ServerResponse, options: OtlpRelayOptions): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method === 'GET' && path === '/health') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  if (request.method === 'GET' && path === '/ready') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}\n');
    return;
  }
  if (path !== '/v1/traces') throw new Refusal(404, 'only OTLP trace export is relayed: POST /v1/traces');
  if (request.method !== 'POST') throw new Refusal(405, 'POST /v1/traces only', { allow: 'POST' });
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim();
  if (type !== 'application/x-protobuf') throw new Refusal(415, 'Content-Type must be application/x-protobuf');
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity')
    throw new Refusal(415, 'compressed exports are not relayed: send them uncompressed');
  const vm = await options.vms.identify(request);
  if (!vm) {
    const { status, message, headers } = options.vms.unidentified;
    throw new Refusal(status, message, headers);
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > options.maxBodyBytes) throw tooLarge(options.maxBodyBytes);
  const body = await readBody(request, options.maxBodyBytes);
  const wait = options.limiter.take(vm, body.length);
  if (wait > 0)
    throw new Refusal(429, `${vm.vm} exports traces faster than its tenant's share: retry later`, {
      'retry-after': `${wait}`,
    });
  const pinned = pinResourceAttributes(body, {
    'service.name': 'tenant-vm',
    'service.instance.id': vm.vm,
    'tenantlab.tenant.id': vm.tenant,
  });
  const upstream = await fetch(options.upstream, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      ...(options.upstreamAuthorization === undefined ? {} : { authorization: options.upstreamAuthorization }),
    },
    body: pinned,
    signal: AbortSignal.timeout(options.upstreamTimeoutMs ?? 10_000),
  });
  const answer = Buffer.from(await upstream.arrayBuffer());
  response
    .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/x-protobuf' })
    .end(answer);
}

/**
 * Reads and drops the rest of a refused body, so a client still sending it gets the answer instead of a reset
 * connection; past `maxBytes` more it is not worth reading, and the connection is dropped.
 */
function discardBody(request: IncomingMessage, maxBytes: number): void {
  let discarded = 0;
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) request.socket.destroy();
  });
  request.resume();
}

function tooLarge(maxBodyBytes: number): Refusal {
  return new Refusal(413, `an export may be at most ${maxBodyBytes} bytes: export smaller batches`);
}

/**
 * The body, refused with 413 as soon as it passes `maxBodyBytes` (never held whole when it is too large).
 */
function readBody(request: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData);
      reject(tooLarge(maxBodyBytes));
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}
