import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TENANT_PORT_BUDGETS } from '../port/tenant-port-budget';
import {
  attackerRedisBytesMax,
  attackerTenantRedisBytesMax,
  DEFAULT_ATTACKER_TENANT_LIMITS,
} from './attacker-redis-bytes';
import { REDIS_CLIENTS_MEMORY_BYTES } from './redis-limits';

const MAXMEMORY_3GB = 3 * 1024 ** 3;

describe("attackerTenantRedisBytesMax: what one tenant's VMs can hold in Redis together", () => {
  it('is about 866 MB at the defaults, so the default lab’s two tenants and every client buffer fit in 3gb', () => {
    const bound = attackerTenantRedisBytesMax();
    assert.equal(bound, 865_513_472);
    assert.ok(2 * bound + REDIS_CLIENTS_MEMORY_BYTES < MAXMEMORY_3GB);
  });

  it('grows with the tenant’s VM count only by an inbox and a few keys per VM, not by a VM’s whole bound', () => {
    const at = (vms: number): number => attackerTenantRedisBytesMax({ ...DEFAULT_ATTACKER_TENANT_LIMITS, vms });
    const perVm = at(65) - at(64);
    assert.equal(at(33) - at(32), perVm, 'linear in VMs');
    assert.ok(perVm < 4_000_000, `${perVm} bytes per VM`);
    assert.ok(at(64) < (64 * attackerRedisBytesMax()) / 10, 'a tenant at 64 VMs: a tenth of 64 VMs bounded one by one');
  });

  it('follows the switch’s tenant budgets: halving the rx bytes takes away 1.25 x what was taken', () => {
    const half = { ...TENANT_PORT_BUDGETS, rxBytes: TENANT_PORT_BUDGETS.rxBytes / 2 };
    const saved =
      attackerTenantRedisBytesMax() - attackerTenantRedisBytesMax({ ...DEFAULT_ATTACKER_TENANT_LIMITS, ports: half });
    assert.equal(saved, 1.25 * (TENANT_PORT_BUDGETS.rxBytes / 2));
  });
});
