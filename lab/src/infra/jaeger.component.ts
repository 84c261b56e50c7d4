import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SupervisedProcess } from './child-process.supervisor';
import { infraLogFile, type InfraOptions } from './infra.options';
import { jaegerIngestHtpasswd, jaegerQueryHtpasswd } from './jaeger-auth';
import { type InfraPorts, jaegerQueryGrpcPort } from './ports';
import { probeJaeger } from './readiness-probes';
import { readyOrStopped } from './wait-until-ready';

const READY_TIMEOUT_MS = 30_000;

/** The passwords a local lab's Jaeger takes (JAEGER_QUERY_USER's, JAEGER_INGEST_USER's); each unset: that part open. */
export interface JaegerPasswords {
  query?: string;
  ingest?: string;
}

/**
 * Jaeger v2 is an OpenTelemetry Collector distribution. This is the all-in-one config shipped in its module
 * (cmd/jaeger/internal/all-in-one.yaml) cut down to what the lab uses: OTLP in, memory storage, the query API.
 * Everything binds 127.0.0.1. The health check, expvar, zpages and sampling extensions and the Jaeger/Zipkin
 * receivers are left out rather than bound, and `metrics.level: none` turns off the collector's own Prometheus
 * endpoint (8888), so Jaeger opens no port the lab did not ask for. `enable_tracing: false` because the query
 * extension otherwise traces itself to the default OTLP port, 4317, which may be another lab's Jaeger, and waits
 * on that exporter for seconds when stopping.
 */
export function jaegerConfig(ports: InfraPorts, passwords: JaegerPasswords = {}): string {
  // Locally every VM reaches 127.0.0.1. With a query password, the query API's HTTP and gRPC endpoints (every
  // tenant's traces) take only basic auth of JAEGER_QUERY_USER; with an ingest password, the OTLP receivers take only
  // JAEGER_INGEST_USER's (the services and the OTLP relay), so no VM puts spans in under any name it likes. Both are
  // the basicauth extension Jaeger ships, one instance each, so neither password opens the other's endpoints.
  const auths = [
    { name: 'basicauth/query', password: passwords.query, htpasswd: jaegerQueryHtpasswd },
    { name: 'basicauth/ingest', password: passwords.ingest, htpasswd: jaegerIngestHtpasswd },
  ].filter((auth): auth is typeof auth & { password: string } => auth.password !== undefined);
  const authOf = (name: string, indent: string): string =>
    auths.some((auth) => auth.name === name) ? `\n${indent}auth:\n${indent}  authenticator: ${name}` : '';
  const queryAuth = authOf('basicauth/query', '      ');
  const ingestAuth = authOf('basicauth/ingest', '        ');
  const authExtensions = auths
    .map((auth) => `\n  ${auth.name}:\n    htpasswd:\n      inline: |\n        ${auth.htpasswd(auth.password)}`)
    .join('');
  return `service:
  extensions: [${['jaeger_storage', 'jaeger_query', ...auths.map((auth) => auth.name)].join(', ')}]
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

extensions:${authExtensions}
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
        endpoint: 127.0.0.1:${ports.otlpGrpc}${ingestAuth}
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}${ingestAuth}

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
  const passwords = { query: options.jaegerQueryPassword, ingest: options.jaegerIngestPassword };
  await writeFile(config, jaegerConfig(options.ports, passwords), { mode: 0o600 });
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
