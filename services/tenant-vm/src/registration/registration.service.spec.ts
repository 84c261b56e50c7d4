import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonLogger, type ReadinessReport, runReadinessChecks } from '@tenantlab/shared';
import type { TenantVmConfig } from '../config/tenant-vm.config';
import type { OperatorClient, VmCredentials } from './operator.client';
import { RegistrationService } from './registration.service';

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('RegistrationService readiness', () => {
  it('is not ready before its first registration, degraded once the operator forgot it, ready when registered again', async () => {
    const registrations: { resolve: (credentials: VmCredentials) => void; reject: (error: Error) => void }[] = [];
    let known = true;
    const operator = {
      register: () => new Promise<VmCredentials>((resolve, reject) => registrations.push({ resolve, reject })),
      heartbeat: () => Promise.resolve(known),
      deregister: () => Promise.resolve(),
    } as unknown as OperatorClient;
    const config = {
      VM_ID: 'vm-1',
      TENANT_ID: 't-1',
      HOST: '127.0.0.1',
      PORT: 1,
      OPERATOR_URL: 'http://127.0.0.1:1',
      HEARTBEAT_INTERVAL_MS: 5,
    } as TenantVmConfig;
    const service = new RegistrationService(operator, config, new JsonLogger('vm', 'error'));
    const report = (): Promise<ReadinessReport> => runReadinessChecks([service.readinessCheck()]);
    const credentials = { token: 'x' } as VmCredentials;
    service.onApplicationBootstrap();
    try {
      await until('the first registration', () => Promise.resolve(registrations.length === 1 || undefined));
      assert.equal((await report()).status, 'not-ready', 'never registered: not ready');
      registrations[0].resolve(credentials);
      await until('ready', async () => ((await report()).status === 'ready' ? true : undefined));

      known = false; // the operator's registry restarted empty
      const degraded = await until('degraded', async () => {
        const now = await report();
        return now.status === 'degraded' ? now : undefined;
      });
      assert.equal(degraded.ready, false);
      assert.match(degraded.reasons?.join() ?? '', /forgot this VM/);
      known = true;
      registrations[1].resolve(credentials);
      await until('ready again', async () => ((await report()).status === 'ready' ? true : undefined));
    } finally {
      await service.onApplicationShutdown();
    }
  });
});
