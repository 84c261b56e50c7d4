import { REDIS_DEFAULT_MAXMEMORY, redisLimitArgs, SERVICE_PORTS, VM_BASE_PORT } from '@tenantlab/shared';
import { DEFAULT_INFRA_PORTS, offsetPorts } from '../infra/ports';
import type { LabDefinition } from '../lab-definition';
import { VM_NODE_OPTIONS } from '../lab-plan';
import { VM_CPU_SHARES } from '../vm-priority';
import { kafkaSecuritySettings } from '../infra/kafka-security';
import { requiredComposeVariable } from '../service-tokens';
import {
  containerSecrets,
  REDIS_ADMIN_CONFIG,
  secretPath,
  SECRETS_DIR_VARIABLE,
  SECRETS_GID_VARIABLE,
} from './container-secrets';

/**
 * Kafka's health check, in bash and coreutils only (both the local image and apache/kafka have them): sends an
 * ApiVersions v0 request (api key 18, correlation id 42, client id "tlhc") to the broker's client listener (a SASL
 * listener answers ApiVersions before authentication) and passes only if within 2 s the answer carries correlation
 * id 42 and error code 0.
 */
export const KAFKA_HEALTH_CHECK =
  'exec 3<>/dev/tcp/127.0.0.1/9092' +
  " && printf '\\x00\\x00\\x00\\x0e\\x00\\x12\\x00\\x00\\x00\\x00\\x00\\x2a\\x00\\x04tlhc' >&3" +
  " && timeout 2 od -An -tx1 -N10 <&3 | tr -d ' \\n' | grep -qx '.\\{8\\}0000002a0000'";

/**
 * A broker property as the KAFKA_* variable the Kafka images read (the apache/kafka convention, which
 * docker/kafka-entrypoint.sh follows): `.` -> `_`, `_` -> `__`, `-` -> `___`, upper case.
 */
export function kafkaPropertyVariable(property: string): string {
  return `KAFKA_${property.replaceAll('_', '__').replaceAll('-', '___').replaceAll('.', '_').toUpperCase()}`;
}

/**
 * Where the admin password goes in the Kafka container's KAFKA_* values: its entrypoint puts the content of
 * ADMIN_PASSWORD_FILE (a Compose secret) in its place when it writes server.properties, so no variable holds it.
 */
export const KAFKA_ADMIN_PASSWORD_PLACEHOLDER = '@ADMIN_PASSWORD@';

/**
 * The Kafka container's security settings: the same as local mode's (kafkaSecuritySettings) on both client
 * listeners, with the admin password's placeholder. The SCRAM users come from files (containerSecrets('kafka')).
 */
function kafkaSecurityEnv(): Record<string, string> {
  const settings = kafkaSecuritySettings(KAFKA_ADMIN_PASSWORD_PLACEHOLDER, ['broker', 'external']);
  return Object.fromEntries(Object.entries(settings).map(([key, value]) => [kafkaPropertyVariable(key), value]));
}

/**
 * The Compose project of a lab: Redis, Kafka, Jaeger, the four services and one container per tenant VM of the lab
 * file, each VM with its own address on the `tenant-vms` network. Two networks keep tenants off the trusted side:
 *   tenant-vms: the VMs, Redis, the operator and the OTLP relay (trace export only): all a VM may reach.
 *   core:       Redis, Kafka, Jaeger, the OTLP relay, operator, switch, allocator, telemetry; no VM is on it.
 * Jaeger is on `core` only: its query API (every tenant's traces, no credential) and admin ports are out of a VM's
 * reach; VMs export through the relay (otlpRelayService), which pins each export to the VM that sent it.
 * Host ports bind 127.0.0.1 only and move by `portOffset`, as in local mode. Image names and settings come from .env.
 * No secret is in the file or in any container's environment: every one (Redis admin password, service tokens that are
 * also the Kafka users' passwords, admin token, dashboard token, tenants' secrets) is a Compose secret, a file in the
 * directory `${LAB_SECRETS_DIR:?...}` that `npm run lab -- up --mode docker` writes per profile
 * (container-secrets.ts), mounted only into the containers that read it. So one file serves every lab, and a plain
 * `docker compose up` without the lab runner's variables stops before it creates anything.
 */
export function composeProject(definition: LabDefinition, portOffset = 0): ComposeDocument {
  const infra = offsetPorts(DEFAULT_INFRA_PORTS, portOffset);
  const nodeHealth = {
    // Readiness, so depends_on waits for a usable service. No curl in the image: Node's fetch.
    test: [
      'CMD',
      'node',
      '-e',
      "fetch('http://127.0.0.1:' + process.env.PORT + '/ready', { signal: AbortSignal.timeout(2000) })" +
        '.then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))',
    ],
    interval: '5s',
    timeout: '3s',
    retries: 24,
    start_period: '20s',
  };
  const nodeEnv = (port: number, serviceName: string): Record<string, string> => ({
    HOST: '0.0.0.0',
    PORT: String(port),
    LOG_LEVEL: '${LOG_LEVEL:-info}',
    OTEL_SERVICE_NAME: serviceName,
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    // The sha256 of the services' metrics scrape token (not a secret: it opens nothing); unset, /metrics refuses all.
    // A VM gets its own tenant's token's instead (below).
    METRICS_TOKEN_SHA256: '${METRICS_TOKEN_SHA256:-}',
  });
  const nodeService = (
    name: string,
    port: number,
    hostPort: number,
    env: Record<string, string>,
    networks: string[],
    dependsOn: Record<string, string>,
  ): ComposeService => ({
    image: `tenantlab/${name === 'vm' ? 'tenant-vm' : name}:\${TENANTLAB_TAG:-local}`,
    build: {
      context: '.',
      dockerfile: 'services/Dockerfile',
      args: { NODE_IMAGE: '${NODE_IMAGE:-tenantlab/node:local}', SERVICE: name === 'vm' ? 'tenant-vm' : name },
    },
    restart: 'unless-stopped',
    // tini as PID 1 forwards SIGTERM so the services' shutdown hooks run.
    init: true,
    mem_limit: '256m',
    environment: env,
    ports: [`127.0.0.1:${hostPort}:${port}`],
    networks,
    depends_on: Object.fromEntries(Object.entries(dependsOn).map(([dep, condition]) => [dep, { condition }])),
    healthcheck: nodeHealth,
  });
  const kafkaReady = { kafka: 'service_healthy', 'kafka-setup': 'service_completed_successfully' };
  const services: Record<string, ComposeService> = {
    redis: {
      image: '${REDIS_IMAGE:-tenantlab/redis:local}',
      restart: 'unless-stopped',
      // Lab data is disposable: no RDB/AOF. maxmemory below mem_limit with noeviction: writes fail with an error
      // instead of the container being killed or circuit keys evicted; REDIS_MAXMEMORY in .env overrides it. Same
      // limits as local mode (redisLimitArgs). The admin (`default`) user needs the password, which the config file
      // (a Compose secret) sets: no command line holds it.
      command: [
        'redis-server',
        secretPath(REDIS_ADMIN_CONFIG),
        '--save',
        '',
        '--appendonly',
        'no',
        ...redisLimitArgs(`\${REDIS_MAXMEMORY:-${REDIS_DEFAULT_MAXMEMORY}}`),
      ],
      environment: {},
      // maxmemory (3gb, sized for the default lab's VMs: docs/redis-rights.md) plus Redis's own overhead.
      mem_limit: '3584m',
      ports: [`127.0.0.1:${infra.redis}:6379`],
      networks: ['core', 'tenant-vms'],
      // redis-cli takes the password from REDISCLI_AUTH, set for it alone from the config file: no command line has it.
      healthcheck: {
        test: [
          'CMD-SHELL',
          `REDISCLI_AUTH="$$(sed -n 's/^requirepass //p' ${secretPath(REDIS_ADMIN_CONFIG)})" redis-cli ping | grep -q PONG`,
        ],
        interval: '5s',
        timeout: '3s',
        retries: 12,
      },
    },
    kafka: {
      image: '${KAFKA_IMAGE:-tenantlab/kafka:local}',
      restart: 'unless-stopped',
      mem_limit: '768m',
      environment: {
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        // Fixed, so a restarted container reuses its formatted data volume.
        CLUSTER_ID: 'vXhJtenWT5SmSzLfBC-pOQ',
        // The controller listens inside the container only.
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9093',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
        // BROKER for containers (kafka:9092), EXTERNAL for clients on the host: both SASL/SCRAM-SHA-512 only.
        KAFKA_LISTENERS: 'BROKER://:9092,CONTROLLER://127.0.0.1:9093,EXTERNAL://:9094',
        KAFKA_ADVERTISED_LISTENERS: `BROKER://kafka:9092,EXTERNAL://127.0.0.1:${infra.kafka}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,EXTERNAL:SASL_PLAINTEXT',
        ...kafkaSecurityEnv(),
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_NUM_PARTITIONS: '1',
        KAFKA_LOG_DIRS: '/var/lib/kafka/data',
        KAFKA_HEAP_OPTS: '-Xmx512m -Xms256m',
      },
      ports: [`127.0.0.1:${infra.kafka}:9094`],
      networks: ['core'],
      // The broker answering a request, not only its port taken (the kernel accepts connections on a listening
      // socket before the broker serves them, and while it is stuck): see KAFKA_HEALTH_CHECK.
      healthcheck: {
        test: ['CMD', 'bash', '-c', KAFKA_HEALTH_CHECK],
        interval: '5s',
        timeout: '3s',
        retries: 24,
        start_period: '10s',
      },
    },
    // One-shot, from the telemetry image: as admin, creates the topics and the ACLs (KAFKA_GRANTS, as local mode),
    // then exits; the services that use Kafka start once it has exited 0.
    'kafka-setup': {
      image: 'tenantlab/telemetry:${TENANTLAB_TAG:-local}',
      restart: 'on-failure',
      init: true,
      command: ['node', '/app/libs/shared/dist/kafka/kafka-setup.main.js'],
      mem_limit: '128m',
      environment: { KAFKA_BROKERS: 'kafka:9092' },
      networks: ['core'],
      depends_on: { kafka: { condition: 'service_healthy' } },
      healthcheck: { disable: true },
    },
    jaeger: {
      image: '${JAEGER_IMAGE:-tenantlab/jaeger:local}',
      restart: 'unless-stopped',
      mem_limit: '512m',
      // All-in-one with memory storage; fewer kept traces and a Go soft memory limit keep it under mem_limit.
      command: ['--set=extensions.jaeger_storage.backends.some_storage.memory.max_traces=20000'],
      environment: { GOMEMLIMIT: '400MiB' },
      ports: [
        `127.0.0.1:${infra.jaegerQuery}:16686`,
        `127.0.0.1:${infra.otlpGrpc}:4317`,
        `127.0.0.1:${infra.otlpHttp}:4318`,
      ],
      networks: ['core'],
      // 13133: the health check extension of the built-in all-in-one config.
      healthcheck: {
        test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:13133/status'],
        interval: '5s',
        timeout: '3s',
        retries: 12,
        start_period: '5s',
      },
    },
    'otlp-relay': otlpRelayService(definition),
    operator: nodeService(
      'operator',
      SERVICE_PORTS.operator,
      SERVICE_PORTS.operator + portOffset,
      {
        ...nodeEnv(SERVICE_PORTS.operator, 'operator'),
        VM_LEASE_MS: '${VM_LEASE_MS:-15000}',
        // Each VM container has its own address here: one cannot hold the operator's event loop with thousands of
        // connections (the services and the host's published port come from addresses of their own).
        MAX_CONNECTIONS_PER_ADDRESS: String(OPERATOR_CONNECTIONS_PER_ADDRESS),
        // The lab's tenants (their secrets' hashes, not the secrets), from the lab runner's environment (or .env).
        LAB_TENANTS: requiredComposeVariable('LAB_TENANTS'),
        ALLOCATOR_URL: `http://allocator:${SERVICE_PORTS.allocator}`,
        SWITCH_URL: `http://switch:${SERVICE_PORTS.switch}`,
        TELEMETRY_URL: `http://telemetry:${SERVICE_PORTS.telemetry}`,
        // A scenario's circuit policy (lab file tenants[].allow), when it has one.
        ...(definition.circuitPolicy?.length ? { CIRCUIT_POLICY: JSON.stringify(definition.circuitPolicy) } : {}),
      },
      ['core', 'tenant-vms'],
      { redis: 'service_healthy', jaeger: 'service_started' },
    ),
    switch: nodeService(
      'switch',
      SERVICE_PORTS.switch,
      SERVICE_PORTS.switch + portOffset,
      {
        ...nodeEnv(SERVICE_PORTS.switch, 'switch'),
        KAFKA_BROKERS: 'kafka:9092',
        // A scenario's switch settings (its program CPU budget), when it has them.
        ...definition.switchEnv,
      },
      ['core'],
      { ...kafkaReady, redis: 'service_healthy', jaeger: 'service_started' },
    ),
    allocator: nodeService(
      'allocator',
      SERVICE_PORTS.allocator,
      SERVICE_PORTS.allocator + portOffset,
      {
        ...nodeEnv(SERVICE_PORTS.allocator, 'allocator'),
        KAFKA_BROKERS: 'kafka:9092',
        // A scenario's allocator settings (its reallocation mode), when it has them.
        ...definition.allocatorEnv,
      },
      ['core'],
      { ...kafkaReady, redis: 'service_healthy', jaeger: 'service_started' },
    ),
    telemetry: nodeService(
      'telemetry',
      SERVICE_PORTS.telemetry,
      SERVICE_PORTS.telemetry + portOffset,
      {
        ...nodeEnv(SERVICE_PORTS.telemetry, 'telemetry'),
        KAFKA_BROKERS: 'kafka:9092',
        // The dashboard (GET /dashboard): the services and Jaeger API it reads (its login token is a secret file).
        OPERATOR_URL: `http://operator:${SERVICE_PORTS.operator}`,
        SWITCH_URL: `http://switch:${SERVICE_PORTS.switch}`,
        ALLOCATOR_URL: `http://allocator:${SERVICE_PORTS.allocator}`,
        JAEGER_QUERY_URL: 'http://jaeger:16686',
      },
      ['core'],
      { ...kafkaReady, jaeger: 'service_started' },
    ),
  };
  // The services run the same way: the operator is what every VM calls, and code that got running in any of them
  // (all hold the Redis admin password) would reach every tenant; Node needs nothing the limits take away.
  for (const name of NODE_SERVICES) Object.assign(services[name], TENANT_FACING_LIMITS);
  const vms = definition.tenants.flatMap((tenant) => tenant.vms.map((vm) => ({ vm, tenant: tenant.id })));
  vms.forEach(({ vm, tenant }, index) => {
    services[vm] = nodeService(
      'vm',
      VM_BASE_PORT,
      VM_BASE_PORT + 1 + index + portOffset,
      {
        ...nodeEnv(VM_BASE_PORT, 'tenant-vm'),
        // Its tenant's scrape token's hash: a VM sees that token on every scrape, and no service, no other tenant's
        // VM takes it.
        METRICS_TOKEN_SHA256: `\${${vmMetricsTokenHashVariable(tenant)}:-}`,
        // The hash of its own control token: every VM container reaches every other on tenant-vms.
        CONTROL_TOKEN_SHA256: `\${${vmControlTokenHashVariable(vm)}:-}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://otlp-relay:${OTLP_RELAY_PORT}`,
        VM_ID: vm,
        TENANT_ID: tenant,
        // No credentials, ever: the VM logs in to Redis as the ACL user the operator hands it.
        REDIS_URL: 'redis://redis:6379',
        OPERATOR_URL: `http://operator:${SERVICE_PORTS.operator}`,
        VM_ADVERTISE_URL: `http://${vm}:${VM_BASE_PORT}`,
        OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${vm},tenantlab.tenant.id=${tenant}`,
        NODE_OPTIONS: VM_NODE_OPTIONS,
      },
      ['tenant-vms'],
      { redis: 'service_healthy', operator: 'service_healthy', 'otlp-relay': 'service_healthy' },
    );
    // Below the shared services' CPU weight (see vm-priority.ts), in its tenant's CPU group where the lab makes one
    // (docker-cpu-groups.ts; empty: Docker's default parent), so a tenant's weight is not its number of containers.
    services[vm].cpu_shares = VM_CPU_SHARES;
    services[vm].cgroup_parent = `\${${vmCpuGroupVariable(tenant)}:-}`;
    Object.assign(services[vm], TENANT_FACING_LIMITS);
  });
  // Each container's secrets (a VM only its own tenant's enrollment secret) and the variables naming their files.
  const tenantOf = new Map(vms.map(({ vm, tenant }) => [vm, tenant]));
  const declared = new Set<string>();
  for (const [name, service] of Object.entries(services)) {
    const { secrets, environment } = containerSecrets(name, tenantOf.get(name));
    if (secrets.length === 0) continue;
    Object.assign(service.environment, environment);
    service.secrets = secrets;
    service.group_add = [requiredComposeVariable(SECRETS_GID_VARIABLE)];
    secrets.forEach((secret) => declared.add(secret));
  }
  const secrets = Object.fromEntries(
    [...declared].sort().map((name) => [name, { file: `${requiredComposeVariable(SECRETS_DIR_VARIABLE)}/${name}` }]),
  );
  return { services, networks: { core: {}, 'tenant-vms': {} }, secrets };
}

/**
 * Connections to the operator one address (a VM container) may hold open in Docker mode: a VM's own calls need a few
 * (heartbeats, circuits, its workloads' and tests' calls); past it they are closed at once.
 */
export const OPERATOR_CONNECTIONS_PER_ADDRESS = 32;

/** The lab's own Node services, confined as the containers tenants drive are (TENANT_FACING_LIMITS). */
export const NODE_SERVICES = ['operator', 'switch', 'allocator', 'telemetry'] as const;

/** The most processes and threads a tenant-facing container may hold: a Node process uses about a dozen. */
export const TENANT_FACING_PIDS_LIMIT = 64;

/**
 * What a container a tenant drives (its VMs) or talks to (the OTLP relay, the operator; and the other Node services,
 * NODE_SERVICES) may not do beyond its job, should a tenant
 * get code running in it: fork past TENANT_FACING_PIDS_LIMIT (a fork bomb would exhaust the host's pids, every
 * container's and service's), hold any capability (Node needs none: it runs as the image's `node` user, listens
 * above 1024, and reads its secret through its group), gain one through a set-uid binary, or change its image's
 * files (the services write none; /tmp is a small tmpfs, counted in the container's memory).
 */
export const TENANT_FACING_LIMITS: Pick<
  ComposeService,
  'pids_limit' | 'cap_drop' | 'security_opt' | 'read_only' | 'tmpfs'
> = {
  pids_limit: TENANT_FACING_PIDS_LIMIT,
  cap_drop: ['ALL'],
  security_opt: ['no-new-privileges:true'],
  read_only: true,
  tmpfs: ['/tmp:size=16m'],
};

/**
 * A Compose variable of `tenant`'s own, `<prefix>_<TENANT>`: the lab's tenant ids are a-z, 0-9 and -, so `-` -> `_`
 * and upper case keep each tenant's its own.
 */
function tenantVariable(prefix: string, tenant: string): string {
  return `${prefix}_${tenant.toUpperCase().replaceAll('-', '_')}`;
}

/** The Compose variable holding the sha256 of `vm`'s control token (labComposeEnv sets it). */
export function vmControlTokenHashVariable(vm: string): string {
  return tenantVariable('VM_CONTROL_TOKEN_SHA256', vm);
}

/** The Compose variable holding the sha256 of `tenant`'s VMs' metrics scrape token (labComposeEnv sets it). */
export function vmMetricsTokenHashVariable(tenant: string): string {
  return tenantVariable('METRICS_VM_TOKEN_SHA256', tenant);
}

/**
 * The Compose variable holding the cgroup parent of `tenant`'s VM containers (labComposeEnv sets it where the lab
 * makes tenant groups, docker-cpu-groups.ts; unset, Compose gives an empty parent and Docker its default).
 */
export function vmCpuGroupVariable(tenant: string): string {
  return tenantVariable('VM_CPU_GROUP', tenant);
}

/** The relay's port on both networks (the OTLP/HTTP port, so a VM's exporter needs only the host name changed). */
export const OTLP_RELAY_PORT = 4318;

/**
 * The OTLP relay (services/telemetry/src/otlp-relay), from the telemetry image: on the tenant network it takes only
 * OTLP/HTTP trace export (size and per-VM rate limited), pins each export's resource to the VM that sent it (known by
 * its address: RELAY_VMS names the lab's VMs, each name resolving to its container), and forwards it to Jaeger on
 * `core`. No host port: the host reaches Jaeger itself.
 */
function otlpRelayService(definition: LabDefinition): ComposeService {
  const vms = definition.tenants.flatMap((tenant) => tenant.vms.map((vm) => `${vm}=${tenant.id}`));
  return {
    image: 'tenantlab/telemetry:${TENANTLAB_TAG:-local}',
    restart: 'unless-stopped',
    init: true,
    // A small heap: the relay holds only the exports in flight (at most 1 MiB each).
    command: ['node', '--max-old-space-size=48', '/app/services/telemetry/dist/otlp-relay/otlp-relay.main.js'],
    mem_limit: '160m',
    ...TENANT_FACING_LIMITS,
    environment: {
      HOST: '0.0.0.0',
      PORT: String(OTLP_RELAY_PORT),
      LOG_LEVEL: '${LOG_LEVEL:-info}',
      RELAY_UPSTREAM: 'http://jaeger:4318/v1/traces',
      RELAY_VMS: vms.join(','),
    },
    networks: ['core', 'tenant-vms'],
    depends_on: { jaeger: { condition: 'service_started' } },
    healthcheck: {
      test: [
        'CMD',
        'node',
        '-e',
        "fetch('http://127.0.0.1:' + process.env.PORT + '/health', { signal: AbortSignal.timeout(2000) })" +
          '.then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))',
      ],
      interval: '5s',
      timeout: '3s',
      retries: 12,
      start_period: '5s',
    },
  };
}

export interface ComposeService {
  image: string;
  build?: { context: string; dockerfile: string; args: Record<string, string> };
  restart: string;
  init?: boolean;
  command?: string[];
  mem_limit: string;
  /** The container's CPU weight against the default 1024: only tenant VMs have one, lower (vm-priority.ts). */
  cpu_shares?: number;
  /** A VM container's CPU group: its tenant's, through vmCpuGroupVariable (docker-cpu-groups.ts). */
  cgroup_parent?: string;
  /** Tenant-facing containers only (TENANT_FACING_LIMITS). */
  pids_limit?: number;
  cap_drop?: string[];
  security_opt?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  environment: Record<string, string>;
  /** The Compose secrets it mounts at /run/secrets/<name>: only those it reads. */
  secrets?: string[];
  /** The group that may read the secret files (LAB_SECRETS_GID), for a container that mounts any. */
  group_add?: string[];
  /** None for the one-shot kafka-setup. */
  ports?: string[];
  /** Bind mounts (`host:container:ro`): only the per-profile Prometheus has one (prometheus-service.ts). */
  volumes?: string[];
  networks: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck:
    { test: string[]; interval: string; timeout: string; retries: number; start_period?: string } | { disable: true };
}

export interface ComposeDocument {
  services: Record<string, ComposeService>;
  networks: Record<string, Record<string, never>>;
  /** Every secret a container mounts: a file in the lab runner's LAB_SECRETS_DIR. */
  secrets: Record<string, { file: string }>;
}

const HEADER = `# GENERATED from labs/default.json by the lab runner (lab/src/docker/compose-file.ts): do not edit by hand.
# A unit test keeps it equal to what the generator makes. \`npm run lab -- up --mode docker --lab FILE\` generates
# the project of any other lab file. Images: \`npm run lab -- images\` (no registry needed); names and settings in
# .env. Secrets: none here, and none in any container's environment: each is a file the lab runner writes per profile
# (LAB_SECRETS_DIR), mounted read-only at /run/secrets/<name> into the containers that read it.
`;

/** The compose file's text: a header, then the document as YAML (every scalar quoted, so nothing is reinterpreted). */
export function renderComposeFile(document: ComposeDocument): string {
  return `${HEADER}${toYaml(document as unknown as Yaml, 0)}`;
}

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

function toYaml(value: Yaml, indent: number): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) return value.map((item) => `${pad}- ${scalar(item as string)}\n`).join('');
  return Object.entries(value as Record<string, Yaml>)
    .map(([key, item]) => {
      if (typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length === 0)
        return `${pad}${key}: {}\n`;
      if (typeof item === 'object') return `${pad}${key}:\n${toYaml(item, indent + 2)}`;
      return `${pad}${key}: ${scalar(item)}\n`;
    })
    .join('');
}

function scalar(value: string | number | boolean): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
