import { requestJson } from '@tenantlab/shared';

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  /** Each process: the resource's service.name, and its other attributes as tags. */
  processes: Record<string, { serviceName: string; tags?: { key: string; value: unknown }[] }>;
}

/** Jaeger's query API (the v1 HTTP JSON API that Jaeger v2 still serves at /api). */
export async function findTraces(queryUrl: string, service: string, operation: string): Promise<JaegerTrace[]> {
  const query = new URLSearchParams({ service, operation, limit: '50', lookback: '1h' });
  const { status, body } = await requestJson<{ data?: JaegerTrace[] }>(
    'GET',
    `${queryUrl}/api/traces?${query.toString()}`,
  );
  if (status !== 200) throw new Error(`Jaeger answered HTTP ${status}`);
  return body.data ?? [];
}

export function serviceOf(trace: JaegerTrace, span: JaegerSpan): string {
  return trace.processes[span.processID]?.serviceName ?? '?';
}

export function parentOf(trace: JaegerTrace, span: JaegerSpan): JaegerSpan | undefined {
  const ref = span.references.find((r) => r.refType === 'CHILD_OF' && r.traceID === trace.traceID);
  return ref && trace.spans.find((s) => s.spanID === ref.spanID);
}

export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

/** ioredis instrumentation names the database `db.system.name` (stable semconv) or `db.system` (older). */
export function isRedisSpan(span: JaegerSpan): boolean {
  return tag(span, 'db.system.name') === 'redis' || tag(span, 'db.system') === 'redis';
}
