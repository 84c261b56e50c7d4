import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnv } from '@tenantlab/shared';
import { tenantVmEnv } from './tenant-vm.config';

describe('tenant-vm configuration', () => {
  it('has the defaults the README documents (Configuration table)', () => {
    const config = parseEnv(tenantVmEnv, { VM_ID: 'vm-a1', TENANT_ID: 'tenant-a', TENANT_SECRET: 's3cret' });
    const documented = {
      HOST: '127.0.0.1',
      PORT: 3100,
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      OPERATOR_URL: 'http://127.0.0.1:3000',
      HEARTBEAT_INTERVAL_MS: 2000,
    };
    assert.deepEqual(
      Object.fromEntries(Object.keys(documented).map((key) => [key, config[key as keyof typeof config]])),
      documented,
    );
  });

  it('refuses to start without VM_ID, TENANT_ID and TENANT_SECRET, naming each', () => {
    for (const missing of ['VM_ID', 'TENANT_ID', 'TENANT_SECRET']) {
      const given = { VM_ID: 'vm-a1', TENANT_ID: 'tenant-a', TENANT_SECRET: 's3cret' } as Record<string, string>;
      delete given[missing];
      assert.throws(
        () => parseEnv(tenantVmEnv, given),
        (error: Error) => error.message.includes(`${missing} is required`),
      );
    }
  });
});
