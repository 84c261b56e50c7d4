import {
  type CallerToken,
  callerTokensEnv,
  commonEnv,
  ConfigOf,
  env,
  EnvVar,
  redisEnv,
  serviceTokenEnv,
  metricsTokenEnv,
  TENANT_CONTROL_CALLS_BURST,
  TENANT_CONTROL_CALLS_IN_FLIGHT,
  TENANT_CONTROL_CALLS_PER_SECOND,
  TENANT_OPERATOR_CALLS_IN_FLIGHT,
  TENANT_OPERATOR_CALLS_WAITING,
} from '@tenantlab/shared';
import { CircuitPolicyRule, parseCircuitPolicy } from '../circuits/circuit-policy';
import { parseDeclaredTenants } from '../tenants/declared-tenants';
import type { DeclaredTenant } from '../tenants/tenant-record';

/**
 * A variable holding JSON, checked by `validate`. Like the shared helpers, a bad value is reported by what was
 * expected, never by the value itself.
 */
function jsonEnv<T>(options: { default: T; expects: string; validate: (value: unknown) => T | undefined }): EnvVar<T> {
  return {
    expects: `${options.expects} (default ${JSON.stringify(options.default)})`,
    defaultValue: options.default,
    parse: (raw) => {
      try {
        return options.validate(JSON.parse(raw));
      } catch {
        return undefined;
      }
    },
  };
}

export const operatorEnv = {
  ...commonEnv,
  /** Whose scrapes /metrics answers: the sha256 of the lab's metrics scrape token. */
  ...metricsTokenEnv,
  ...redisEnv,
  PORT: env.port({ default: 3000 }),
  /** A VM whose last heartbeat is older than this is shown as not alive, and its circuits are torn down. */
  VM_LEASE_MS: env.integer({ default: 15_000, min: 1000 }),
  /**
   * Connections one address may hold open at once (0: no limit); past it the operator closes them as soon as they are
   * accepted (connections-per-address.ts). Docker mode sets it, where each VM container has its own address; locally
   * every client is 127.0.0.1, so it stays off.
   */
  MAX_CONNECTIONS_PER_ADDRESS: env.integer({ default: 0, min: 0 }),
  /** Which tenants may connect to which services of other tenants; within a tenant everything is allowed. */
  CIRCUIT_POLICY: jsonEnv<CircuitPolicyRule[]>({
    default: [],
    expects:
      'a JSON array of rules {"from": "<tenant id>", "to": "<tenant id>", "service": "<service name>"}, ' +
      'a service name being 1-100 characters of a-z, 0-9 and . _ : -',
    validate: parseCircuitPolicy,
  }),
  /**
   * Services one VM may listen on at once. Each service name is a key of its own in Redis, written by the operator:
   * without a bound a VM could fill Redis through the operator, outside every bound of its own Redis user.
   */
  MAX_LISTENERS_PER_VM: env.integer({ default: 64, min: 1 }),
  /** Circuit endpoints per VM (a circuit counts once at each end). */
  MAX_CIRCUITS_PER_VM: env.integer({ default: 64, min: 1 }),
  /** Ring memory per tenant: 2 x capacity.bytes for each circuit endpoint in the tenant. */
  TENANT_RING_BYTES: env.integer({ default: 268_435_456, min: 2048 }),
  /** Ring memory per VM: 2 x capacity.bytes for each of its circuit endpoints (a tenant may override: vmRingBytes). */
  VM_RING_BYTES: env.integer({ default: 134_217_728, min: 2048 }),
  /**
   * Ring entries per VM: capacity.entries for each of its circuit endpoints, the ring it writes (a tenant may override:
   * vmRingEntries). Entries, not bytes, dominate what a VM's rings can hold (each may carry 1 KiB beside its payload),
   * so this keeps attackerRedisBytesMax under the lab's maxmemory (docs/redis-rights.md).
   */
  VM_RING_ENTRIES: env.integer({ default: 65_536, min: 1 }),
  /**
   * Ring entries per tenant: capacity.entries of the ring each circuit endpoint in the tenant writes (a tenant may
   * override: ringEntries). VM_RING_ENTRIES alone lets a tenant's VM count multiply what its rings can hold in Redis
   * (TENANT_MAX_VMS x 65 536 entries of up to ~1.5 KB each); this bounds the tenant as a whole, as TENANT_RING_BYTES
   * does for bytes. The default is 2 x VM_RING_ENTRIES, so a tenant of two VMs (as the lab's scenarios declare them)
   * can still fill both VMs' entries caps.
   */
  TENANT_RING_ENTRIES: env.integer({ default: 131_072, min: 1 }),
  /** Default per-tenant caps (a tenant may override each in the lab file or the admin API). */
  TENANT_MAX_VMS: env.integer({ default: 64, min: 0 }),
  TENANT_MAX_CIRCUITS: env.integer({ default: 1024, min: 0 }),
  TENANT_MAX_PROGRAMS: env.integer({ default: 1, min: 0, max: 1 }),
  /**
   * Each tenant's budget of calls the operator forwards on its behalf to the switch, the allocator and telemetry
   * (program, table entries, registers, counters, ports, traces, pcap, events): a rate, what may be saved up for a
   * burst, and how many may be answered at once. The switch answers them on the loop that moves every tenant's frames.
   */
  TENANT_CONTROL_CALLS_PER_SECOND: env.integer({ default: TENANT_CONTROL_CALLS_PER_SECOND, min: 1 }),
  TENANT_CONTROL_CALLS_BURST: env.integer({ default: TENANT_CONTROL_CALLS_BURST, min: 1 }),
  TENANT_CONTROL_CALLS_IN_FLIGHT: env.integer({ default: TENANT_CONTROL_CALLS_IN_FLIGHT, min: 1 }),
  /**
   * The operator's own work for a tenant (circuits, listeners, registration, heartbeats, registry reads): how many of
   * its calls are answered at once, and how many more may wait their turn (past that, 429). Calls whose tenant is
   * not known yet (no VM token, or one not seen) take the turn of the address they come from.
   */
  TENANT_OPERATOR_CALLS_IN_FLIGHT: env.integer({ default: TENANT_OPERATOR_CALLS_IN_FLIGHT, min: 1 }),
  TENANT_OPERATOR_CALLS_WAITING: env.integer({ default: TENANT_OPERATOR_CALLS_WAITING, min: 0 }),
  /**
   * The tenants the lab declares, at every start (idempotently: a known tenant keeps its VLAN). Hashes only: the
   * operator never holds a tenant's enrollment secret.
   */
  LAB_TENANTS: jsonEnv<DeclaredTenant[]>({
    default: [],
    expects:
      'a JSON array of tenants {"id": "<tenant id>", "secretSha256": "<64 hex digits>", "caps"?: {...}}, ' +
      'each id once, caps among maxVms, maxCircuits, maxPrograms, ringBytes, vmRingBytes, ringEntries, ' +
      'vmRingEntries',
    validate: parseDeclaredTenants,
  }),
  /**
   * Bearer token of the admin API (POST/GET/DELETE /tenants). Unset: the admin API refuses every call. At least 32
   * characters; the lab generates one per profile.
   */
  OPERATOR_ADMIN_TOKEN: {
    expects: 'a token of at least 32 characters without spaces (optional: unset disables the admin API)',
    optional: true,
    parse: (raw: string): string | undefined => (/^\S{32,}$/.test(raw) ? raw : undefined),
  } as EnvVar<string | undefined>,
  CIRCUIT_REAP_INTERVAL_MS: env.integer({ default: 1000, min: 50 }),
  /**
   * How often the wardens look at Redis (wardens/): the ring warden resets a circuit whose ring is over its capacity,
   * the connection warden closes a VM's Redis connections over its cap.
   */
  WARDEN_INTERVAL_MS: env.integer({ default: 500, min: 50 }),
  /** Redis connections a VM may hold beside one per live circuit it is an endpoint of (the connection warden). */
  VM_REDIS_CONNECTIONS: env.integer({ default: 8, min: 1 }),
  /** The allocator's API, where the operator submits and removes tenants' programs on their behalf. */
  ALLOCATOR_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://127.0.0.1:3002' }),
  /** The switch's API, where the operator manages tenants' table entries and reads their registers and counters. */
  SWITCH_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://127.0.0.1:3001' }),
  /** Telemetry's API, where the operator reads a tenant's traces, pcap and events for that tenant's VMs. */
  TELEMETRY_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://127.0.0.1:3003' }),
  /** The operator's credential for the switch, the allocator and telemetry, which refuse calls without one. */
  ...serviceTokenEnv,
  /**
   * Trusted services that may read the whole lab's circuits (GET /lab/circuits): telemetry for the dashboard, the
   * lab's admin tools. Unset: that route refuses every call.
   */
  CALLER_TOKENS: { ...callerTokensEnv.CALLER_TOKENS, optional: true } as EnvVar<CallerToken[] | undefined>,
};

export type OperatorConfig = ConfigOf<typeof operatorEnv>;

export const OPERATOR_CONFIG = Symbol('OPERATOR_CONFIG');
