import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  DependencyUnavailableError,
  jaegerQueryAuthorization,
  NotFoundError,
  serviceAuthHeaders,
} from '@tenantlab/shared';
import { DASHBOARD_CONFIG, type DashboardConfig } from './dashboard.config';

/** What the operator's `GET /vms` says of a VM (the fields the dashboard shows). */
export interface VmEntry {
  id: string;
  tenant: string;
  alive: boolean;
  vlan?: number;
}

export interface RingStats {
  entriesAdded: number;
  length: number;
  bytes: number;
}

/** One circuit as the operator's `GET /lab/circuits` shows it. */
export interface CircuitEntry {
  id: string;
  service: string;
  mode: string;
  state: string;
  a: { vm: string; tenant: string };
  b: { vm: string; tenant: string };
  rings: { a2b: RingStats; b2a: RingStats };
}

export interface TrafficCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  drops: Record<string, number>;
}

/** The parts of the switch's `GET /dataplane` the dashboard shows. */
export interface DataplaneEntry {
  ports: { port: number; vm: string; tenant: string; vlan: number }[];
  macs: number;
  lookups: string;
  counters: { tenants: Record<string, TrafficCounters> };
  programs: { version: number; tenants: string[]; lastError?: string };
  sampling: Record<string, number>;
}

export interface MemoryEntry {
  version: number;
  cellsPerStage: number;
  stages: {
    stage: number;
    cells: number;
    usedCells: number;
    freeCells: number;
    slices: { tenant: string; program: string; register: string; offset: number; amount: number }[];
  }[];
}

/** A span as the trace waterfall draws it. */
export interface WaterfallSpan {
  spanId: string;
  parentId?: string;
  service: string;
  name: string;
  startUs: number;
  durationUs: number;
  error: boolean;
  attributes: Record<string, string | number | boolean>;
}

const TIMEOUT_MS = 2000;
const TRACE_ID = /^[0-9a-f]{16,32}$/;

/**
 * The dashboard's remote sources, each read with telemetry's service token: the operator (VMs, circuits), the switch
 * (ports, counters, installed programs), the allocator (memory map) and Jaeger's query API. fetch, not node:http: the
 * OpenTelemetry http instrumentation would make a span of every poll, and the dashboard must not fill Jaeger.
 */
@Injectable()
export class LabSources {
  constructor(@Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig) {}

  vms(): Promise<{ vms: VmEntry[] }> {
    return this.get('OPERATOR_URL', '/vms');
  }

  circuits(): Promise<{ circuits: CircuitEntry[] }> {
    return this.get('OPERATOR_URL', '/lab/circuits');
  }

  dataplane(): Promise<DataplaneEntry> {
    return this.get('SWITCH_URL', '/dataplane');
  }

  memory(): Promise<MemoryEntry> {
    return this.get('ALLOCATOR_URL', '/memory');
  }

  /** Recent traces of a service from Jaeger, newest first: id, root span, span count, duration. */
  async recentTraces(service: string, limit: number): Promise<unknown[]> {
    const query = new URLSearchParams({ service, limit: String(limit), lookback: '1h' });
    const answer = await this.get<{ data?: JaegerTrace[] }>('JAEGER_QUERY_URL', `/api/traces?${query.toString()}`);
    return (answer.data ?? [])
      .map((trace) => {
        const spans = waterfall(trace);
        const root = spans[0];
        const end = Math.max(...spans.map((span) => span.startUs + span.durationUs));
        return {
          traceId: trace.traceID,
          root: root ? `${root.service}: ${root.name}` : '',
          startUs: root?.startUs ?? 0,
          durationUs: root ? end - root.startUs : 0,
          spans: spans.length,
        };
      })
      .sort((x, y) => y.startUs - x.startUs);
  }

  /** One trace from Jaeger as a waterfall: spans sorted by start, each with its service. */
  async trace(traceId: string): Promise<{ traceId: string; spans: WaterfallSpan[] }> {
    if (!TRACE_ID.test(traceId)) throw new NotFoundError('a trace id is 16 or 32 hex digits');
    const answer = await this.get<{ data?: JaegerTrace[] }>('JAEGER_QUERY_URL', `/api/traces/${traceId}`);
    const trace = answer.data?.[0];
    if (trace === undefined) throw new NotFoundError(`Jaeger has no trace ${traceId}`);
    return { traceId, spans: waterfall(trace) };
  }

  private async get<T>(source: 'OPERATOR_URL' | 'SWITCH_URL' | 'ALLOCATOR_URL' | 'JAEGER_QUERY_URL', path: string) {
    const base = this.config[source];
    if (base === undefined) throw new DependencyUnavailableError(`telemetry was started without ${source}`);
    // A parent that is not sampled (W3C trace flags 00): the services' default ParentBased sampler then records no
    // span of a poll, so a dashboard left open does not fill Jaeger with its reads.
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;
    const headers: Record<string, string> = { accept: 'application/json', traceparent };
    if (source !== 'JAEGER_QUERY_URL' && this.config.SERVICE_TOKEN !== undefined) {
      Object.assign(headers, serviceAuthHeaders(this.config.SERVICE_TOKEN));
    }
    if (source === 'JAEGER_QUERY_URL' && this.config.JAEGER_QUERY_PASSWORD !== undefined) {
      headers['authorization'] = jaegerQueryAuthorization(this.config.JAEGER_QUERY_PASSWORD);
    }
    let response: Response;
    try {
      response = await fetch(new URL(path, base), { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DependencyUnavailableError(`GET ${path} on ${source} failed: ${reason}`, { cause: error });
    }
    if (response.status === 404 && source === 'JAEGER_QUERY_URL') throw new NotFoundError(`Jaeger answered 404`);
    if (!response.ok) throw new DependencyUnavailableError(`GET ${path} on ${source} answered ${response.status}`);
    return (await response.json()) as T;
  }
}

interface JaegerTrace {
  traceID: string;
  spans: {
    spanID: string;
    operationName: string;
    references?: { refType: string; spanID: string }[];
    startTime: number;
    duration: number;
    processID: string;
    tags?: { key: string; value: string | number | boolean }[];
  }[];
  processes: Record<string, { serviceName: string }>;
}

function waterfall(trace: JaegerTrace): WaterfallSpan[] {
  return trace.spans
    .map((span): WaterfallSpan => {
      const tags = span.tags ?? [];
      const parentId = span.references?.find((ref) => ref.refType === 'CHILD_OF')?.spanID;
      return {
        spanId: span.spanID,
        ...(parentId ? { parentId } : {}),
        service: trace.processes[span.processID]?.serviceName ?? '?',
        name: span.operationName,
        startUs: span.startTime,
        durationUs: span.duration,
        error: tags.some((tag) => tag.key === 'error' && tag.value === true),
        attributes: Object.fromEntries(tags.slice(0, 20).map((tag) => [tag.key, tag.value])),
      };
    })
    .sort((x, y) => x.startUs - y.startUs);
}
