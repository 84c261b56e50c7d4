import { join } from 'node:path';
import { SERVICE_PORTS, ServiceName, VM_BASE_PORT } from '@tenantlab/shared';
import type { LabDefinition } from './lab-definition';
import { type LabIdentity, labTenantsEnv, vmControlTokenHash } from './lab-identity';

/** One Node process of the lab: a service, a tenant VM, or the OTLP relay VMs export traces to (trace-relay.ts). */
export interface ProcessSpec {
  name: string;
  kind: 'service' | 'vm' | 'relay';
  /** The service folder whose dist/ it runs. */
  serviceDir: string;
  /** The script it runs, relative to serviceDir; default `dist/main.js`, with the OTel instrumentation preloaded. */
  script?: string;
  port: number;
  url: string;
  /**
   * May hold the Redis admin password (services' REDIS_URL), the admin token (operator) or a tenant's enrollment
   * secret (VMs' TENANT_SECRET): give it to the process, never print it.
   */
  env: Record<string, string>;
}

export interface InfraUrls {
  /** Redis without credentials: what tenant VMs get, since they will authenticate as their own ACL users. */
  redis: string;
  /** Redis as its admin (`default` user), password included: for the trusted services only. */
  redisAdmin: string;
  kafkaBrokers: string;
  otlpHttp: string;
  jaegerQuery: string;
}

/**
 * V8 settings for every tenant VM process, in both modes (`NODE_OPTIONS`). A semi-space of at most 2 MiB instead of
 * V8's default (grown up to 16 MiB as the young generation fills) keeps the young generation small: a VM's objects are
 * few and short-lived (frames in flight, HTTP requests), and the bigger nursery bought about 20 MiB resident per VM,
 * idle, and 30-50 MiB sending 10 000 frames/s, for no CPU we could measure at 2 MiB (1 MiB cost 15-25% more CPU per
 * frame at that rate). README "Memory per tenant VM" has the figures.
 */
export const VM_NODE_OPTIONS = '--max-semi-space-size=2';

/** The services, in start order: the operator first, since VMs register with it. */
const SERVICES: ServiceName[] = ['operator', 'switch', 'allocator', 'telemetry'];

/**
 * Turns a lab definition into the processes to run. Every port moves by `portOffset`, so a second lab (the e2e
 * suite's) can run beside a user's. The services are trusted with Redis's admin password; tenant VMs never get it.
 */
export function planLab(
  definition: LabDefinition,
  repoRoot: string,
  infra: InfraUrls,
  portOffset: number,
  identity?: LabIdentity,
): ProcessSpec[] {
  const common = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    KAFKA_BROKERS: infra.kafkaBrokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: infra.otlpHttp,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    // Export spans within half a second, so a trace is in Jaeger by the time someone looks.
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
  };
  const services = SERVICES.map((name): ProcessSpec => {
    const port = SERVICE_PORTS[name] + portOffset;
    return {
      name,
      kind: 'service',
      serviceDir: join(repoRoot, 'services', name),
      port,
      url: `http://127.0.0.1:${port}`,
      env: { ...common, REDIS_URL: infra.redisAdmin, PORT: String(port), OTEL_SERVICE_NAME: name },
    };
  });
  // The operator calls the switch and the allocator for tenants (their programs), at their offset ports.
  const urlOf = (name: ServiceName): string => services.find((spec) => spec.name === name)?.url ?? '';
  const operator = services.find((spec) => spec.name === 'operator');
  if (operator) Object.assign(operator.env, { ALLOCATOR_URL: urlOf('allocator'), SWITCH_URL: urlOf('switch') });
  // The lab's tenants (hashes of their secrets only) and the admin token: only the operator gets them.
  if (operator && identity) {
    Object.assign(operator.env, {
      LAB_TENANTS: labTenantsEnv(definition, identity),
      OPERATOR_ADMIN_TOKEN: identity.adminToken,
    });
  }
  // ...and telemetry for a tenant's own traces and events.
  if (operator) operator.env['TELEMETRY_URL'] = urlOf('telemetry');
  // A scenario's circuit policy (lab file tenants[].allow), when it has one.
  if (operator && definition.circuitPolicy?.length) {
    operator.env['CIRCUIT_POLICY'] = JSON.stringify(definition.circuitPolicy);
  }
  // A scenario's switch settings (its program CPU budget), when it has them.
  const switchSpec = services.find((spec) => spec.name === 'switch');
  if (switchSpec && definition.switchEnv) Object.assign(switchSpec.env, definition.switchEnv);
  // A scenario's allocator settings (its reallocation mode), when it has them.
  const allocatorSpec = services.find((spec) => spec.name === 'allocator');
  if (allocatorSpec && definition.allocatorEnv) Object.assign(allocatorSpec.env, definition.allocatorEnv);
  // Telemetry's dashboard reads the operator, the switch, the allocator and Jaeger's query API.
  const telemetry = services.find((spec) => spec.name === 'telemetry');
  if (telemetry) {
    Object.assign(telemetry.env, {
      OPERATOR_URL: urlOf('operator'),
      SWITCH_URL: urlOf('switch'),
      ALLOCATOR_URL: urlOf('allocator'),
      ...(infra.jaegerQuery ? { JAEGER_QUERY_URL: infra.jaegerQuery } : {}),
    });
  }
  const operatorUrl = urlOf('operator');
  const vms = definition.tenants.flatMap((tenant) => tenant.vms.map((vm) => ({ vm, tenant: tenant.id })));
  return [
    ...services,
    ...vms.map(({ vm, tenant }, index): ProcessSpec => {
      const port = VM_BASE_PORT + 1 + index + portOffset;
      const url = `http://127.0.0.1:${port}`;
      return {
        name: vm,
        kind: 'vm',
        serviceDir: join(repoRoot, 'services', 'tenant-vm'),
        port,
        url,
        env: {
          ...common,
          REDIS_URL: infra.redis,
          PORT: String(port),
          VM_ID: vm,
          TENANT_ID: tenant,
          // Its own tenant's enrollment secret, never another's; the hash of its own control token.
          ...(identity
            ? {
                TENANT_SECRET: identity.tenantSecrets[tenant] ?? '',
                CONTROL_TOKEN_SHA256: vmControlTokenHash(identity, vm),
              }
            : {}),
          OPERATOR_URL: operatorUrl,
          VM_ADVERTISE_URL: url,
          OTEL_SERVICE_NAME: 'tenant-vm',
          OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${vm},tenantlab.tenant.id=${tenant}`,
          NODE_OPTIONS: VM_NODE_OPTIONS,
        },
      };
    }),
  ];
}
