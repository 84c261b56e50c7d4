import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DependencyUnavailableError } from '../errors';
import { withoutCredentials } from '../auth/vm-control';

export interface JsonResponse<T> {
  status: number;
  body: T;
}

/**
 * A small JSON-over-HTTP client built on node:http rather than fetch: OpenTelemetry's http instrumentation patches
 * node:http (fetch goes through undici, which it does not), so calls made with this carry `traceparent` and show up
 * as client spans. Network failures and timeouts become a retriable DependencyUnavailableError.
 */
export function requestJson<T = unknown>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  timeoutMs = 3000,
  /** Extra request headers, such as `authorization`; they may hold secrets, so errors never include them. */
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const target = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method,
        timeout: timeoutMs,
        headers: {
          ...headers,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: parseBody(text) as T });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) =>
      reject(
        new DependencyUnavailableError(`${method} ${withoutCredentials(url)} failed: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    req.end(payload);
  });
}

function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface BytesResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A GET whose answer is taken as bytes (a pcap file, say), with its headers, through node:http like requestJson.
 * Network failures and timeouts become a retriable DependencyUnavailableError; `headers` never appear in errors.
 */
export function requestBytes(
  url: string,
  timeoutMs = 3000,
  headers: Record<string, string> = {},
): Promise<BytesResponse> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: 'GET', timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) =>
      reject(
        new DependencyUnavailableError(`GET ${withoutCredentials(url)} failed: ${error.message}`, { cause: error }),
      ),
    );
    req.end();
  });
}
