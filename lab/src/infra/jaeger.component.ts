import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SupervisedProcess } from './child-process.supervisor';
import { infraLogFile, type InfraOptions } from './infra.options';
import { jaegerQueryHtpasswd } from './jaeger-query-auth';
import { type InfraPorts, jaegerQueryGrpcPort } from './ports';
import { probeJaeger } from './readiness-probes';
import { readyOrStopped } from './wait-until-ready';

const READY_TIMEOUT_MS = 30_000;

/**
 * Jaeger v2 is an OpenTelemetry Collector distribution. This is the all-in-one config shipped in its module
 * (cmd/jaeger/internal/all-in-one.yaml) cut down to what the lab uses: OTLP in, memory storage, the query API.
 * Everything binds 127.0.0.1. The health check, expvar, zpages and sampling extensions and the Jaeger/Zipkin
 * receivers are left out rather than bound, and `metrics.level: none` turns off the collector's own Prometheus
 * endpoint (8888), so Jaeger opens no port the lab did not ask for. `enable_tracing: false` because the query
 * extension otherwise traces itself to the default OTLP port, 4317, which may be another lab's Jaeger, and waits
 * on that exporter for seconds when stopping.
 */
export function jaegerConfig(ports: InfraPorts, queryPassword?: string): string {
  // Every tenant's traces are behind the query API, and locally every VM reaches 127.0.0.1: with a password, its
  // HTTP and gRPC endpoints take only basic auth of JAEGER_QUERY_USER (the basicauth extension Jaeger ships).
  const queryAuth =
    queryPassword === undefined
      ? ''
      : `
      auth:
        authenticator: basicauth/query`;
  const authExtension =
    queryPassword === undefined
      ? ''
      : `
  basicauth/query:
    htpasswd:
      inline: |
        ${jaegerQueryHtpasswd(queryPassword)}`;
  return `service:
  extensions: [jaeger_storage, jaeger_query${queryPassword === undefined ? '' : ', basicauth/query'}]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:${authExtension}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:${ports.jaegerQuery}${queryAuth}
    grpc:
      endpoint: 127.0.0.1:${jaegerQueryGrpcPort(ports)}${queryAuth}

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${ports.otlpGrpc}
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Runs Jaeger with memory storage (traces last for this run only) and waits until its query API answers. */
export async function startJaeger(binary: string, options: InfraOptions): Promise<SupervisedProcess> {
  const dir = path.join(options.dataDir, 'jaeger');
  const config = path.join(dir, 'config.yaml');
  await mkdir(dir, { recursive: true });
  await writeFile(config, jaegerConfig(options.ports, options.jaegerQueryPassword), { mode: 0o600 });
  const child = await SupervisedProcess.start({
    component: 'jaeger',
    command: binary,
    args: ['--config', config],
    cwd: dir,
    logFile: await infraLogFile(options.dataDir, 'jaeger'),
    appendLog: options.restarting,
    onLine: (line) => options.onLine?.('jaeger', line),
  });
  const port = options.ports.jaegerQuery;
  return readyOrStopped(
    child,
    `Jaeger (query API on port ${port})`,
    () => probeJaeger(port, options.jaegerQueryPassword),
    READY_TIMEOUT_MS,
  );
}
