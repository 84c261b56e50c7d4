import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import type { CircuitDescriptor } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { OperatorApi, type OperatorUnderTest, startOperator, type TestVm, uniqueId } from './operator-harness';

/** Two tenants' VMs on an operator and a Redis of their own, each tenant with one circuit open (see startTwoTenants). */
export interface TwoTenants {
  redis: TestRedis;
  /** A connection with the server's full rights, to look at or seed what the VMs must not touch. */
  admin: Redis;
  operator: OperatorUnderTest;
  api: OperatorApi;
  /** Tenant A's VMs: a1 connects to a2's service. */
  a1: TestVm;
  a2: TestVm;
  /** Tenant B's VM that connects to b2's service (b2 only listens). */
  b1: TestVm;
  /** a1's circuit to a2. */
  ownCircuit: CircuitDescriptor;
  /** b1's circuit to b2. */
  otherCircuit: CircuitDescriptor;
  /** Keeps `connection` to be closed with the rest, and returns it. */
  track: (connection: Redis) => Redis;
  /** Closes the tracked connections, the operator, the admin connection and Redis. */
  close(): Promise<void>;
}

/**
 * A test Redis, an operator on it (VM leases of a minute: no heartbeats needed) and two tenants of two VMs each:
 * a2 listens on `services.a` and a1 connects to it (with `ownCircuitOptions`, say a mode), b2 listens on `services.b`
 * and b1 connects to it. What started before a failure is closed again.
 */
export async function startTwoTenants(
  services: { a: string; b: string },
  ownCircuitOptions: Record<string, unknown> = {},
): Promise<TwoTenants> {
  const connections: Redis[] = [];
  let operator: OperatorUnderTest | undefined;
  let admin: Redis | undefined;
  const redis = await startTestRedis();
  const close = async (): Promise<void> => {
    for (const connection of connections) connection.disconnect();
    await operator?.close();
    admin?.disconnect();
    await redis.stop();
  };
  try {
    admin = new Redis(redis.url);
    operator = await startOperator(redis.url, { VM_LEASE_MS: '60000' });
    const api = new OperatorApi(operator.url);
    const tenantA = uniqueId('tenant-a');
    const tenantB = uniqueId('tenant-b');
    const a1 = await api.register(uniqueId('vm-a'), tenantA);
    const a2 = await api.register(uniqueId('vm-a'), tenantA);
    const b1 = await api.register(uniqueId('vm-b'), tenantB);
    const b2 = await api.register(uniqueId('vm-b'), tenantB);
    await api.listen(a2, services.a);
    await api.listen(b2, services.b);
    const ownCircuit = await api.connect(a1, services.a, ownCircuitOptions);
    const otherCircuit = await api.connect(b1, services.b);
    const track = (connection: Redis): Redis => {
      connections.push(connection);
      return connection;
    };
    return { redis, admin, operator, api, a1, a2, b1, ownCircuit, otherCircuit, track, close };
  } catch (error) {
    await close();
    throw error;
  }
}
