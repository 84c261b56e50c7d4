import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_ATTACKER_RING_LIMITS, DEFAULT_ATTACKER_TENANT_LIMITS, parseEnv } from '@tenantlab/shared';
import { operatorEnv } from './operator.config';

describe('operator configuration', () => {
  it('refuses to start without its service credential, naming SERVICE_TOKEN', () => {
    assert.throws(
      () => parseEnv(operatorEnv, {}),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /SERVICE_TOKEN is required/);
        return true;
      },
    );
  });

  it('has the defaults the Redis memory bounds are derived from (attacker-redis-bytes.ts)', () => {
    const config = parseEnv(operatorEnv, { SERVICE_TOKEN: 'c'.repeat(64) });
    assert.deepEqual(
      {
        circuits: config.MAX_CIRCUITS_PER_VM,
        ringEntries: config.VM_RING_ENTRIES,
        ringPayloadBytes: config.VM_RING_BYTES / 2,
      },
      {
        circuits: DEFAULT_ATTACKER_RING_LIMITS.circuits,
        ringEntries: DEFAULT_ATTACKER_RING_LIMITS.ringEntries,
        ringPayloadBytes: DEFAULT_ATTACKER_RING_LIMITS.ringPayloadBytes,
      },
    );
    assert.deepEqual(
      {
        vms: config.TENANT_MAX_VMS,
        circuits: config.TENANT_MAX_CIRCUITS,
        ringEntries: config.TENANT_RING_ENTRIES,
        ringPayloadBytes: config.TENANT_RING_BYTES / 2,
      },
      {
        vms: DEFAULT_ATTACKER_TENANT_LIMITS.vms,
        circuits: DEFAULT_ATTACKER_TENANT_LIMITS.circuits,
        ringEntries: DEFAULT_ATTACKER_TENANT_LIMITS.ringEntries,
        ringPayloadBytes: DEFAULT_ATTACKER_TENANT_LIMITS.ringPayloadBytes,
      },
    );
  });

  it('has the defaults the README documents (Configuration table)', () => {
    const config = parseEnv(operatorEnv, { SERVICE_TOKEN: 'c'.repeat(64) });
    const documented = {
      HOST: '127.0.0.1',
      PORT: 3000,
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      VM_LEASE_MS: 15_000,
      MAX_CONNECTIONS_PER_ADDRESS: 0,
      CIRCUIT_POLICY: [],
      MAX_CIRCUITS_PER_VM: 64,
      MAX_LISTENERS_PER_VM: 64,
      TENANT_RING_BYTES: 256 * 1024 * 1024,
      CIRCUIT_REAP_INTERVAL_MS: 1000,
      ALLOCATOR_URL: 'http://127.0.0.1:3002',
      SWITCH_URL: 'http://127.0.0.1:3001',
      VM_RING_BYTES: 128 * 1024 * 1024,
      VM_RING_ENTRIES: 65_536,
      TENANT_RING_ENTRIES: 131_072,
      TENANT_MAX_VMS: 64,
      TENANT_MAX_CIRCUITS: 1024,
      TENANT_MAX_PROGRAMS: 1,
      TENANT_CONTROL_CALLS_PER_SECOND: 100,
      TENANT_CONTROL_CALLS_BURST: 100,
      TENANT_CONTROL_CALLS_IN_FLIGHT: 8,
      TENANT_OPERATOR_CALLS_IN_FLIGHT: 2,
      TENANT_OPERATOR_CALLS_WAITING: 256,
      LAB_TENANTS: [],
      OPERATOR_ADMIN_TOKEN: undefined,
      TELEMETRY_URL: 'http://127.0.0.1:3003',
    };
    assert.deepEqual(
      Object.fromEntries(Object.keys(documented).map((key) => [key, config[key as keyof typeof config]])),
      documented,
    );
  });

  it('refuses a TENANT_RING_ENTRIES below 1, naming it', () => {
    assert.throws(
      () => parseEnv(operatorEnv, { SERVICE_TOKEN: 'c'.repeat(64), TENANT_RING_ENTRIES: '0' }),
      (error: unknown) => error instanceof ConfigError && /TENANT_RING_ENTRIES/.test(error.message),
    );
  });

  it('refuses LAB_TENANTS holding a secret instead of its hash, and a short admin token, never echoing them', () => {
    const secret = 'plain-enrollment-secret';
    assert.throws(
      () => parseEnv(operatorEnv, { LAB_TENANTS: JSON.stringify([{ id: 'tenant-a', secretSha256: secret }]) }),
      (error: Error) => /LAB_TENANTS is invalid/.test(error.message) && !error.message.includes(secret),
    );
    assert.throws(
      () => parseEnv(operatorEnv, { OPERATOR_ADMIN_TOKEN: 'short-token' }),
      (error: Error) => /OPERATOR_ADMIN_TOKEN is invalid/.test(error.message) && !error.message.includes('short-token'),
    );
  });
});
