import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import {
  closeApp,
  CircuitDescriptor,
  createServiceApp,
  fieldsFromFlatList,
  INBOX_MESSAGE_FIELD,
  JsonLogger,
  JsonResponse,
  parseEnv,
  requestJson,
  TENANT_SECRET_HEADER,
  VM_KEYS,
} from '@tenantlab/shared';
import { serviceCredentialEnv, TEST_SERVICE_TOKENS, waitFor } from '@tenantlab/lab';
import { Redis } from 'ioredis';
import { AppModule } from '../app.module';
import { sha256Hex } from '../auth/vm-secrets';
import { operatorEnv } from '../config/operator.config';
import type { RegisteredVm, VmCredentials } from '../registry/vm-record';

export interface ErrorReply {
  error: { code: string; message: string; retriable: boolean; details?: string[] };
}

/** An operator running in this process, as main.ts would start it, on a free loopback port. */
export interface OperatorUnderTest {
  url: string;
  app: INestApplication;
  close(): Promise<void>;
}

/**
 * Starts the operator's AppModule with the same pipe, filter and body limit as bootstrapService, but without its
 * signal handlers (they would exit the test process). `env` is operator environment, validated like at boot.
 */
export async function startOperator(redisUrl: string, env: Record<string, string> = {}): Promise<OperatorUnderTest> {
  const config = parseEnv(operatorEnv, {
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'warn',
    OPERATOR_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ...serviceCredentialEnv('operator', TEST_SERVICE_TOKENS),
    ...env,
  });
  // stderr, so the operator's log lines do not mix with the test runner's report on stdout.
  const logger = new JsonLogger('operator', config.LOG_LEVEL, (line) => process.stderr.write(line));
  const app = await createServiceApp({ module: AppModule.forRoot(config, logger), logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return { url: `http://127.0.0.1:${port}`, app, close: () => (closing ??= closeApp(app)) };
}

/** The admin token startOperator gives the operator unless the test sets OPERATOR_ADMIN_TOKEN itself. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789abcdef';

/**
 * The enrollment secret the harness gives tenant `id` when it declares it (declareTenant): derived from the id, so
 * every test and operator of a test process agrees on it without sharing state. Tests only.
 */
export function harnessTenantSecret(id: string): string {
  return `harness-enrollment-secret-of-${id}`;
}

/** The operator's HTTP API as a VM (or an impostor) calls it. */
export class OperatorApi {
  constructor(
    public url: string,
    private readonly adminToken = TEST_ADMIN_TOKEN,
  ) {}

  call<T = unknown>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; token?: string; tenantSecret?: string } = {},
  ): Promise<JsonResponse<T>> {
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    if (options.tenantSecret !== undefined) headers[TENANT_SECRET_HEADER] = options.tenantSecret;
    return requestJson<T>(method, `${this.url}${path}`, options.body, 5000, headers);
  }

  /**
   * Declares the tenant through the admin API with harnessTenantSecret(tenant), unless it is declared already (409):
   * so a test registers VMs of any tenant id it likes, as a lab that declares them would.
   */
  async declareTenant(tenant: string, caps: Record<string, number> = {}): Promise<void> {
    const { status, body } = await this.call('POST', '/tenants', {
      body: { id: tenant, secretSha256: sha256Hex(harnessTenantSecret(tenant)), caps },
      token: this.adminToken,
    });
    if (status !== 201 && status !== 409) {
      throw new Error(`declaring tenant ${tenant} answered ${status}: ${JSON.stringify(body)}`);
    }
  }

  async register(id: string, tenant: string): Promise<TestVm> {
    await this.declareTenant(tenant);
    const { status, body } = await this.call<RegisteredVm & ErrorReply>('POST', '/vms', {
      body: { id, tenant, url: `http://127.0.0.1:1/${id}` },
      tenantSecret: harnessTenantSecret(tenant),
    });
    if (status !== 201) throw new Error(`registering ${id} answered ${status}: ${JSON.stringify(body)}`);
    return { id, tenant, credentials: body.credentials };
  }

  async listen(vm: TestVm, service: string): Promise<void> {
    const { status, body } = await this.call('POST', '/listeners', { body: { service }, token: vm.credentials.token });
    if (status !== 201) throw new Error(`${vm.id} listening on ${service} answered ${status}: ${JSON.stringify(body)}`);
  }

  async connect(vm: TestVm, target: string, extra: Record<string, unknown> = {}): Promise<CircuitDescriptor> {
    const { status, body } = await this.call<CircuitDescriptor>('POST', '/circuits', {
      body: { target, mode: 'stream', ...extra },
      token: vm.credentials.token,
    });
    if (status !== 201) throw new Error(`${vm.id} connecting to ${target} answered ${status}: ${JSON.stringify(body)}`);
    return body;
  }

  async circuitsOf(vm: TestVm): Promise<CircuitDescriptor[]> {
    const { status, body } = await this.call<{ circuits: CircuitDescriptor[] }>('GET', '/circuits', {
      token: vm.credentials.token,
    });
    if (status !== 200) throw new Error(`listing ${vm.id}'s circuits answered ${status}: ${JSON.stringify(body)}`);
    return body.circuits;
  }

  async heartbeat(vm: TestVm): Promise<number> {
    return (await this.call('POST', `/vms/${vm.id}/heartbeat`, { token: vm.credentials.token })).status;
  }
}

export interface TestVm {
  id: string;
  tenant: string;
  credentials: VmCredentials;
}

/** Unique per call, so tests never share VMs, tenants or services (ids: a-z, 0-9 and -). */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Heartbeats the VMs every `intervalMs` against whatever `api.url` is at the time, until stopped. */
export function keepAlive(api: OperatorApi, vms: TestVm[], intervalMs = 250): { stop(): void } {
  const timer = setInterval(() => {
    for (const vm of vms) void api.heartbeat(vm).catch(() => undefined);
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs` naming `what`. */
export const eventually = waitFor;

/** A Redis connection as a tenant VM makes it: no admin password, its own ACL user. */
export function connectAsVm(anonymousUrl: string, vm: TestVm): Redis {
  const connection = new Redis(anonymousUrl, {
    username: vm.credentials.redisUsername,
    password: vm.credentials.redisPassword,
    // ioredis's ready check runs INFO, which a VM user may not; it would drop the connection.
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
  });
  // Refusals reach the tests through the rejected commands; unheard, ioredis would also print each one.
  connection.on('error', () => undefined);
  return connection;
}

/** The rejection message of a Redis command that must fail. */
export async function redisError(command: Promise<unknown>): Promise<string> {
  try {
    await command;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('the command succeeded');
}

/** Messages in a VM's inbox, read as the admin: the parsed `msg` field plus every other field. */
export async function readInbox(
  admin: Redis,
  vm: string,
): Promise<{ message: Record<string, unknown>; fields: Record<string, string> }[]> {
  const entries = await admin.xrange(VM_KEYS.inbox(vm), '-', '+');
  return entries.map(([, flat]) => {
    const fields = fieldsFromFlatList(flat);
    return { message: JSON.parse(fields[INBOX_MESSAGE_FIELD] ?? '{}') as Record<string, unknown>, fields };
  });
}
