import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import { controlTokenSha256, requestJson, vmAclUser, vmControlToken, vmControlUrl } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { eventually } from '../lab-process';
import { ServiceProcess } from '../service-process';

interface SendReport {
  circuit: string;
  verified: boolean;
  problem?: string;
  count: number;
  messagesPerSecond: number;
}

interface ErrorBody {
  error: { code: string; message: string; details?: string[] };
}

const LEASE_MS = 3000;

/**
 * Circuits end to end with real processes: a private Redis, the operator, and tenant VMs, each its own process as
 * in the lab, so a test can kill and restart any of them.
 */
/** Each tenant's enrollment secret in this suite (a lab generates random ones). */
const tenantSecret = (tenant: string): string => `e2e-enrollment-secret-of-${tenant}`;
const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');
/** The key the VMs' control tokens are derived from here, as a lab derives them from its own. */
const CONTROL_KEY = randomUUID();
const ADMIN_TOKEN = randomUUID();

describe('circuits between tenant VM processes, through the operator, on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  let operator: ServiceProcess;
  const vms = new Map<string, ServiceProcess>();

  const startOperator = async (port?: number): Promise<ServiceProcess> => {
    const env = {
      REDIS_URL: redis.url,
      VM_LEASE_MS: String(LEASE_MS),
      CIRCUIT_REAP_INTERVAL_MS: '250',
      CIRCUIT_POLICY: JSON.stringify([{ from: 'tenant-a', to: 'tenant-b', service: 'shared-db' }]),
      // The tenants as a lab declares them: the hashes of their enrollment secrets.
      LAB_TENANTS: JSON.stringify(
        ['tenant-a', 'tenant-b'].map((id) => ({ id, secretSha256: sha256Hex(tenantSecret(id)) })),
      ),
      // The registry's reads answer the admin token (or a VM's, for its own tenant).
      OPERATOR_ADMIN_TOKEN: ADMIN_TOKEN,
      ...(port ? { PORT: String(port) } : {}),
    };
    const process = await ServiceProcess.create('operator', 'operator', env);
    return port ? Object.assign(process, { port }) : process;
  };

  const startVm = async (id: string, tenant: string): Promise<ServiceProcess> => {
    const vm = await ServiceProcess.create(id, 'tenant-vm', {
      VM_ID: id,
      TENANT_ID: tenant,
      TENANT_SECRET: tenantSecret(tenant),
      CONTROL_TOKEN_SHA256: controlTokenSha256(vmControlToken(CONTROL_KEY, id)),
      REDIS_URL: redis.anonymousUrl,
      OPERATOR_URL: operator.url,
      HEARTBEAT_INTERVAL_MS: '500',
    });
    vms.set(id, vm);
    return vm.start();
  };

  const vm = (id: string): ServiceProcess => {
    const found = vms.get(id);
    if (!found) throw new Error(`no VM ${id}`);
    return found;
  };

  /** The VM's control URL: its API answers only its own control token, as in a lab. */
  const control = (id: string): string => vmControlUrl(vm(id).url, vmControlToken(CONTROL_KEY, id));

  const post = <T>(id: string, path: string, body: unknown): ReturnType<typeof requestJson<T>> =>
    requestJson<T>('POST', `${control(id)}${path}`, body, 120_000);

  const circuitKeys = async (): Promise<string[]> => admin.keys('circuit:*');

  /** Waits until `id` has a circuit open: the transfer a test started is under way. */
  const circuitsOn = async (id: string): Promise<string[]> => {
    const { body } = await requestJson<{ circuits: { id: string }[] }>('GET', `${control(id)}/circuits`);
    return body.circuits.map((circuit) => circuit.id);
  };
  /**
   * Waits for a circuit on the VM that was not there `before`: the previous test's circuit may still be open for a
   * moment, since an end closes only once its peer has taken its FIN.
   */
  const circuitOpenOn = (id: string, before: readonly string[]): Promise<true> =>
    eventually('the transfer to be under way', 10_000, async () =>
      (await circuitsOn(id)).some((circuit) => !before.includes(circuit)) ? true : undefined,
    );

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    operator = await (await startOperator()).start();
    const suffix = randomUUID().slice(0, 6);
    await Promise.all([
      startVm(`vm-a1-${suffix}`, 'tenant-a'),
      startVm(`vm-a2-${suffix}`, 'tenant-a'),
      startVm(`vm-b1-${suffix}`, 'tenant-b'),
    ]);
  });

  after(async () => {
    await Promise.all([...vms.values()].map((v) => v.stop()));
    await operator.stop();
    admin.disconnect();
    await redis.stop();
  });

  const ids = (): { a1: string; a2: string; b1: string } => {
    const [a1, a2, b1] = [...vms.keys()];
    return { a1: a1, a2: a2, b1: b1 };
  };

  it('echoes 10k messages in both modes through a same-tenant circuit, verified byte for byte', async () => {
    const { a1, a2 } = ids();
    assert.equal((await post(a2, '/workloads/echo', { service: 'echo' })).status, 201);
    for (const mode of ['stream', 'datagram']) {
      const { status, body } = await post<SendReport>(a1, '/workloads/send', {
        target: `${a2}/echo`,
        mode,
        count: 10_000,
        size: 1024,
      });
      assert.equal(status, 201, JSON.stringify(body));
      assert.equal(body.verified, true, body.problem);
      assert.equal(body.count, 10_000);
    }
  });

  it('registers each VM at http://HOST:PORT when VM_ADVERTISE_URL is not set', async () => {
    for (const id of Object.values(ids())) {
      const { status, body } = await requestJson<{ url: string }>('GET', `${operator.url}/vms/${id}`, undefined, 3000, {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      });
      assert.equal(status, 200);
      assert.equal(body.url, `http://127.0.0.1:${vm(id).port}`);
    }
  });

  it('answers send with its rates, and ping with one-way latency percentiles in µs', async () => {
    const { a1, a2 } = ids();
    assert.equal((await post(a2, '/workloads/echo', { service: 'echo-rates' })).status, 201);
    const sent = await post<SendReport & { durationMs: number; megabytesPerSecond: number }>(a1, '/workloads/send', {
      target: `${a2}/echo-rates`,
      mode: 'datagram',
      count: 1000,
      size: 1024,
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.verified, true, sent.body.problem);
    assert.ok(sent.body.durationMs > 0);
    // Each rate is what the count, size and duration say (durationMs is rounded to the millisecond).
    const close = (value: number, expected: number): boolean =>
      Math.abs(value - expected) <= expected * (1 / sent.body.durationMs + 0.01) + 0.01;
    assert.ok(close(sent.body.messagesPerSecond, 1000 / (sent.body.durationMs / 1000)), JSON.stringify(sent.body));
    assert.ok(close(sent.body.megabytesPerSecond, 1.024 / (sent.body.durationMs / 1000)), JSON.stringify(sent.body));
    const pinged = await post<{ count: number; size: number; oneWayP50Us: number; oneWayP99Us: number }>(
      a1,
      '/workloads/ping',
      { target: `${a2}/echo-rates`, count: 200, size: 64 },
    );
    assert.equal(pinged.status, 201, JSON.stringify(pinged.body));
    assert.deepEqual([pinged.body.count, pinged.body.size], [200, 64]);
    assert.ok(pinged.body.oneWayP50Us > 0, JSON.stringify(pinged.body));
    assert.ok(pinged.body.oneWayP99Us >= pinged.body.oneWayP50Us, JSON.stringify(pinged.body));
    // A round trip through Redis takes tens of µs at least and, on this machine, well under a second.
    assert.ok(pinged.body.oneWayP50Us >= 10 && pinged.body.oneWayP50Us < 1_000_000, JSON.stringify(pinged.body));
  });

  it('refuses a cross-tenant connect without a rule, and allows only the service a rule names', async () => {
    const { a1, b1 } = ids();
    assert.equal((await post(b1, '/workloads/echo', { service: 'echo-b' })).status, 201);
    assert.equal((await post(b1, '/workloads/echo', { service: 'shared-db' })).status, 201);
    const denied = await post<ErrorBody>(a1, '/workloads/send', {
      target: `${b1}/echo-b`,
      mode: 'datagram',
      count: 1,
      size: 16,
    });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'POLICY_DENIED');
    assert.match(denied.body.error.message, /tenant-a may not connect to tenant-b/);
    const allowed = await post<SendReport>(a1, '/workloads/send', {
      target: `${b1}/shared-db`,
      mode: 'datagram',
      count: 100,
      size: 64,
    });
    assert.equal(allowed.status, 201, JSON.stringify(allowed.body));
    assert.equal(allowed.body.verified, true);
  });

  it('answers bad requests with clear errors and keeps working', async () => {
    const { a1, a2 } = ids();
    const unknown = await post<ErrorBody>(a1, '/workloads/send', {
      target: 'no-such-service',
      mode: 'stream',
      count: 1,
      size: 16,
    });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /no-such-service/);
    const malformed = await post<ErrorBody>(a1, '/workloads/send', { target: 7, mode: 'carrier-pigeon', count: -1 });
    assert.equal(malformed.status, 400);
    for (const field of ['target', 'mode', 'count', 'size']) {
      assert.ok(
        malformed.body.error.details?.some((d) => d.startsWith(`${field}:`)),
        `names ${field}: ${JSON.stringify(malformed.body)}`,
      );
    }
    const tooLarge = await post<ErrorBody>(a1, '/workloads/send', {
      target: `${a2}/echo`,
      mode: 'datagram',
      count: 1_000_000,
      size: 1024 * 1024,
    });
    assert.equal(tooLarge.status, 400);
    const after = await post<SendReport>(a1, '/workloads/send', {
      target: `${a2}/echo`,
      mode: 'datagram',
      count: 10,
      size: 16,
    });
    assert.equal(after.body.verified, true);
  });

  it('completes a transfer without loss while the operator is killed and restarted', { timeout: 120_000 }, async () => {
    const { a1, a2 } = ids();
    const before = await circuitsOn(a2);
    const transfer = post<SendReport>(a1, '/workloads/send', {
      target: `${a2}/echo`,
      mode: 'datagram',
      count: 200_000,
      size: 1024,
    });
    await circuitOpenOn(a2, before);
    const port = operator.port;
    await operator.kill();
    operator = await (await startOperator(port)).start();
    const { status, body } = await transfer;
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.verified, true, body.problem);
    assert.equal(body.count, 200_000);
    await eventually('the finished circuit torn down', 10_000, async () =>
      (await circuitKeys()).length === 0 ? true : undefined,
    );
  });

  it(
    'fails the peer of a killed VM, then removes its circuit keys and grants after the lease',
    { timeout: 60_000 },
    async () => {
      const { a1, a2 } = ids();
      const before = await circuitsOn(a2);
      const transfer = post<SendReport & ErrorBody>(a1, '/workloads/send', {
        target: `${a2}/echo`,
        mode: 'stream',
        count: 500_000,
        size: 1024,
      });
      await circuitOpenOn(a2, before);
      await vm(a2).kill();
      const { status, body } = await transfer;
      assert.equal(status, 502, `the sender sees the failure: ${status} ${JSON.stringify(body)}`);
      assert.match(
        body.error.code,
        /CIRCUIT_TORN_DOWN|CIRCUIT_RESET/,
        `${JSON.stringify(body)}\n${vm(a1).output.join('')}`,
      );
      await eventually('circuit keys gone after the lease', LEASE_MS * 4, async () =>
        (await circuitKeys()).length === 0 ? true : undefined,
      );
      const acl = (await admin.call('ACL', 'GETUSER', vmAclUser(a1))) as unknown[];
      const keys = String(acl[acl.indexOf('keys') + 1]);
      assert.doesNotMatch(keys, /circuit:/, `${a1} keeps no circuit grant: ${keys}`);
      const health = await requestJson('GET', `${vm(a1).url}/health`).catch((error: unknown) => String(error));
      assert.equal(
        typeof health === 'string' ? health : health.status,
        200,
        `${a1} lives on after its peer died: ${vm(a1).output.join('').slice(-2000)}`,
      );
    },
  );
});
