import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis, waitFor } from '@tenantlab/lab';
import type { ReadinessReport } from '@tenantlab/shared';
import { sha256Hex } from '../auth/vm-secrets';
import type { RegisteredVm } from '../registry/vm-record';
import {
  harnessTenantSecret,
  OperatorApi,
  type OperatorUnderTest,
  startOperator,
  TEST_ADMIN_TOKEN,
  uniqueId,
} from '../testing/operator-harness';
import type { TenantView } from '../tenants/tenant-record';

/**
 * The operator across a Redis that restarts empty (issue 10): it declares the tenants it knew again (the lab's and
 * one made through the admin API, with their secrets, caps and VLANs), and says `degraded`, naming them, until every
 * VM that was alive has registered again.
 */
describe('the operator after Redis restarts empty', () => {
  let redis: TestRedis;
  let operator: OperatorUnderTest;
  let api: OperatorApi;
  const labTenant = uniqueId('lab');
  const adminTenant = uniqueId('made');

  before(
    async () => {
      redis = await startTestRedis();
      operator = await startOperator(redis.url, {
        LAB_TENANTS: JSON.stringify([{ id: labTenant, secretSha256: sha256Hex(harnessTenantSecret(labTenant)) }]),
      });
      api = new OperatorApi(operator.url);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await operator?.close();
    await redis?.stop();
  });

  const readiness = async (): Promise<{ status: number; body: ReadinessReport }> =>
    api.call<ReadinessReport>('GET', '/ready');
  const tenants = async (): Promise<TenantView[]> =>
    (await api.call<{ tenants: TenantView[] }>('GET', '/tenants', { token: TEST_ADMIN_TOKEN })).body.tenants;

  async function register(id: string, tenant: string): Promise<number> {
    const { status } = await api.call<RegisteredVm>('POST', '/vms', {
      body: { id, tenant, url: `http://127.0.0.1:1/${id}` },
      tenantSecret: harnessTenantSecret(tenant),
    });
    return status;
  }

  it('declares the tenants it knew again and is degraded until the VMs that were alive register again', async () => {
    await api.declareTenant(adminTenant, { maxVms: 3 });
    const [vmLab, vmMade] = [uniqueId('vm-l'), uniqueId('vm-m')];
    assert.equal(await register(vmLab, labTenant), 201);
    assert.equal(await register(vmMade, adminTenant), 201);
    const tenantsBefore = await tenants();
    // The operator has looked since: it remembers both tenants and both VMs.
    await waitFor('the operator to remember two tenants and two VMs', 10_000, async () => {
      const { status, body } = await readiness();
      return status === 200 && /restore 2 tenant\(s\) and wait for 2 VM\(s\)/.test(body.checks['store']?.detail ?? '')
        ? true
        : undefined;
    });

    await redis.restartEmpty();

    const degraded = await waitFor('the operator to say degraded', 15_000, async () => {
      const { status, body } = await readiness();
      return status === 503 && body.status === 'degraded' ? body : undefined;
    });
    assert.equal(degraded.checks['redis']?.ok, true);
    const waiting = await waitFor('the tenants back, the VMs awaited', 15_000, async () => {
      const { body } = await readiness();
      return body.reasons?.length === 1 ? body.reasons[0] : undefined;
    });
    assert.match(waiting, /VMs not registered again yet/);
    assert.ok(waiting.includes([vmLab, vmMade].sort().join(', ')), waiting);
    // Both tenants are declared again as they were: the admin-made one too, with its caps and VLAN.
    assert.deepEqual(
      (await tenants()).map((t) => [t.id, t.vlan, t.caps.maxVms, t.createdAt]),
      tenantsBefore.map((t) => [t.id, t.vlan, t.caps.maxVms, t.createdAt]),
    );

    // Each VM registers again with its own tenant's secret; then the operator has converged.
    assert.equal(await register(vmLab, labTenant), 201);
    const halfway = await waitFor("only the admin-made tenant's VM awaited", 10_000, async () => {
      const { body } = await readiness();
      const reason = body.reasons?.[0] ?? '';
      return reason.includes(vmMade) && !reason.includes(vmLab) ? body : undefined;
    });
    assert.equal(halfway.status, 'degraded');
    assert.equal(await register(vmMade, adminTenant), 201);
    const ready = await waitFor('the operator ready again', 10_000, async () => {
      const { status, body } = await readiness();
      return status === 200 ? body : undefined;
    });
    assert.equal(ready.status, 'ready');
  });
});
