import { Inject, Injectable } from '@nestjs/common';
import { DependencyUnavailableError, type JsonResponse, requestBytes, serviceAuthHeaders } from '@tenantlab/shared';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { remoteError, send } from '../programs/remote-error';

/** Telemetry answers from memory; a pcap of the kept traces is a few MiB at most. */
const TELEMETRY_TIMEOUT_MS = 10_000;

/** A tenant's captured frames as telemetry serves them: the pcap file and what its headers say about it. */
export interface TenantPcap {
  file: Buffer;
  frames: string;
  withoutBytes: string;
}

/**
 * All HTTP I/O with telemetry's per-tenant reads. Telemetry trusts its caller to name the tenant, so every method
 * takes the tenant the operator authenticated, never one from a request.
 */
@Injectable()
export class TelemetryClient {
  constructor(
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'TELEMETRY_URL' | 'SERVICE_TOKEN'>,
  ) {}

  async traces(tenant: string, query: { limit?: string }): Promise<unknown> {
    return (await this.get(`/traces/${encodeURIComponent(tenant)}${queryString(query)}`)).body;
  }

  async events(tenant: string, query: { limit?: string; event?: string }): Promise<unknown> {
    return (await this.get(`/events/${encodeURIComponent(tenant)}${queryString(query)}`)).body;
  }

  async pcap(tenant: string): Promise<TenantPcap> {
    const path = `/traces/${encodeURIComponent(tenant)}/pcap`;
    const url = `${this.config.TELEMETRY_URL.replace(/\/+$/, '')}${path}`;
    let response: Awaited<ReturnType<typeof requestBytes>>;
    try {
      response = await requestBytes(url, TELEMETRY_TIMEOUT_MS, serviceAuthHeaders(this.config.SERVICE_TOKEN));
    } catch (error) {
      throw new DependencyUnavailableError(
        `telemetry did not answer GET ${path} (${error instanceof Error ? error.message : String(error)}); ` +
          'try again once it is back',
        { cause: error },
      );
    }
    if (response.status !== 200) {
      throw remoteError('telemetry', `GET ${path}`, { status: response.status, body: parseError(response.body) });
    }
    return {
      file: response.body,
      frames: String(response.headers['x-tenantlab-frames'] ?? ''),
      withoutBytes: String(response.headers['x-tenantlab-traces-without-bytes'] ?? ''),
    };
  }

  private async get(path: string): Promise<JsonResponse<unknown>> {
    const response = await send(
      'telemetry',
      this.config.TELEMETRY_URL,
      'GET',
      path,
      undefined,
      TELEMETRY_TIMEOUT_MS,
      this.config.SERVICE_TOKEN,
    );
    if (response.status >= 200 && response.status < 300) return response;
    throw remoteError('telemetry', `GET ${path}`, response);
  }
}

/** Only the query parameters telemetry documents are passed on; telemetry validates them. */
function queryString(query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseError(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
