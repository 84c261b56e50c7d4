import { join } from 'node:path';
import {
  jaegerIngestAuthorization,
  otlpAuthorizationHeaders,
  tokenSha256,
  vmTraceExportToken,
} from '@tenantlab/shared';
import type { ProcessSpec } from './lab-plan';

/** A local lab's OTLP relay port (before the lab's port offset): beside the services' 3000-3003. */
export const LOCAL_OTLP_RELAY_PORT = 3004;

export interface TraceRelayOptions {
  repoRoot: string;
  portOffset: number;
  /** Jaeger's OTLP/HTTP base URL (`http://127.0.0.1:4318`). */
  jaegerOtlpHttp: string;
  /** Jaeger's ingest password (lab secret `jaeger-ingest-password`): only the services and the relay get it. */
  ingestPassword: string;
  /** The lab's key each VM's trace export token is derived from (the VM control key). */
  vmKey: string;
}

/**
 * A local lab's trace ingest (issue 10). Locally every VM reaches 127.0.0.1, so Jaeger's OTLP receivers take only the
 * lab's ingest password, which the services send with every export; VMs export to the OTLP relay instead (the one
 * Docker mode runs), each with its own trace export token, and the relay pins every export to the VM whose token it
 * carries before forwarding it with the password. A VM holds neither the password nor another VM's token, so it
 * cannot put spans in Jaeger under a service's or another VM's name. Returns the plan with the relay first (VMs export
 * to it from their start); a lab without VMs gets no relay.
 */
export function withTraceRelay(specs: ProcessSpec[], options: TraceRelayOptions): ProcessSpec[] {
  const port = LOCAL_OTLP_RELAY_PORT + options.portOffset;
  const url = `http://127.0.0.1:${port}`;
  const ingest = jaegerIngestAuthorization(options.ingestPassword);
  const tokenOf = (vm: string): string => vmTraceExportToken(options.vmKey, vm);
  const exporting = specs.map((spec): ProcessSpec => ({
    ...spec,
    env: {
      ...spec.env,
      ...(spec.kind === 'vm'
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: url,
            OTEL_EXPORTER_OTLP_HEADERS: otlpAuthorizationHeaders(`Bearer ${tokenOf(spec.name)}`),
          }
        : { OTEL_EXPORTER_OTLP_HEADERS: otlpAuthorizationHeaders(ingest) }),
    },
  }));
  const vms = specs.filter((spec) => spec.kind === 'vm');
  if (vms.length === 0) return exporting;
  const relay: ProcessSpec = {
    name: 'otlp-relay',
    kind: 'relay',
    serviceDir: join(options.repoRoot, 'services', 'telemetry'),
    // Not instrumented: its own spans would show nothing a VM's do not.
    script: 'dist/otlp-relay/otlp-relay.main.js',
    port,
    url,
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      // A small heap, as its container's: it holds only the exports in flight (at most 1 MiB each).
      NODE_OPTIONS: '--max-old-space-size=48',
      RELAY_UPSTREAM: `${options.jaegerOtlpHttp}/v1/traces`,
      RELAY_UPSTREAM_AUTHORIZATION: ingest,
      RELAY_VMS: vms.map((vm) => `${vm.name}=${vm.env['TENANT_ID'] ?? ''}`).join(','),
      RELAY_VM_TOKEN_SHA256S: vms.map((vm) => `${vm.name}=${tokenSha256(tokenOf(vm.name))}`).join(','),
    },
  };
  return [relay, ...exporting];
}
