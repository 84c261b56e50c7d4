import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, NotFoundError, PORT_KEYS, VM_KEYS } from '@tenantlab/shared';
import type { AclRepository } from '../acl/acl.repository';
import { AclService } from '../acl/acl.service';
import { ForbiddenError } from '../auth/auth.errors';
import { sha256Hex } from '../auth/vm-secrets';
import {
  InMemoryAclRepository,
  InMemoryRegistryRepository,
  inMemoryVmKeys,
  InMemoryVmKeysRepository,
} from '../testing/in-memory-repositories';
import type { RegistryRepository } from './registry.repository';
import { RegistryService } from './registry.service';
import { declareTestTenants, InMemoryTenantsRepository, testTenantSecret } from '../testing/in-memory-repositories';
import { QuotaExceededError } from '../circuits/circuit.errors';
import type { TenantsService } from '../tenants/tenants.service';
import type { RegisterVmDto } from './dto/register-vm.dto';

describe('RegistryService', () => {
  let now: number;
  let repository: InMemoryRegistryRepository;
  let acl: InMemoryAclRepository;
  let tenants: TenantsService;
  let tenantStore: InMemoryTenantsRepository;
  let registry: RegistryService;
  let vmKeys: InMemoryVmKeysRepository;

  beforeEach(async () => {
    now = 1_000_000;
    repository = new InMemoryRegistryRepository();
    acl = new InMemoryAclRepository(repository);
    vmKeys = new InMemoryVmKeysRepository();
    ({ tenants, repository: tenantStore } = await declareTestTenants(['tenant-a', 'tenant-b'], {
      now: () => now,
      caps: { 'tenant-b': { maxVms: 2 } },
    }));
    registry = new RegistryService(
      repository as unknown as RegistryRepository,
      new AclService(acl as unknown as AclRepository),
      { VM_LEASE_MS: 15_000 },
      () => now,
      tenants,
      inMemoryVmKeys(vmKeys),
    );
  });

  /** Registers as a VM holding its tenant's enrollment secret. */
  function register(request: RegisterVmDto, token?: string): ReturnType<RegistryService['register']> {
    return registry.register(request, token, testTenantSecret(request.tenant));
  }

  it('registers a new VM as alive', async () => {
    const { vm, created } = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    assert.equal(created, true);
    assert.deepEqual(vm, {
      id: 'vm-a1',
      tenant: 'tenant-a',
      url: 'http://127.0.0.1:3101',
      registeredAt: now,
      lastHeartbeatAt: now,
      alive: true,
      vlan: 1,
    });
  });

  it('hands out fresh credentials, stores only their hashes, and creates the VM ACL user with that password', async () => {
    const { credentials } = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    assert.equal(credentials.redisUsername, 'vm-vm-a1');
    assert.match(credentials.token, /^[0-9a-f]{64}$/);
    assert.match(credentials.redisPassword, /^[0-9a-f]{64}$/);
    assert.notEqual(credentials.token, credentials.redisPassword);
    const stored = JSON.stringify([...repository.records.values()]);
    assert.ok(!stored.includes(credentials.token) && !stored.includes(credentials.redisPassword));
    assert.equal((await registry.authenticate(credentials.token)).id, 'vm-a1');
    const rules = acl.users.get('vm-vm-a1') ?? [];
    assert.ok(rules.includes(`#${sha256Hex(credentials.redisPassword)}`));
    assert.ok(rules.some((rule) => rule.includes(`~${VM_KEYS.inbox('vm-a1')}`)));
  });

  it("creates the VM's keys at registration and deletes them at deregistration", async () => {
    const keys = [PORT_KEYS.tx('vm-a1'), PORT_KEYS.rx('vm-a1'), VM_KEYS.inbox('vm-a1')];
    const { credentials } = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    assert.deepEqual([...vmKeys.keys].sort(), [...keys].sort());
    await registry.deregister('vm-a1', credentials.token);
    assert.deepEqual([...vmKeys.keys], []);
  });

  it("starts a new holder of an expired id empty, after closing the old holder's connections", async () => {
    const first = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' }, first.credentials.token);
    assert.deepEqual(vmKeys.disconnected, ['vm-a1'], 'the same holder keeps its connections and keys');
    now += 15_001;
    await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3199' });
    assert.deepEqual(vmKeys.disconnected, ['vm-a1', 'vm-a1']);
    assert.ok(vmKeys.keys.has(PORT_KEYS.tx('vm-a1')));
  });

  it('lets a restarted VM register again, keeping its first registration time and taking its new URL', async () => {
    await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    const first = now;
    now += 60_000;
    const { vm, created } = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:4101' });
    assert.equal(created, false);
    assert.equal(vm.registeredAt, first);
    assert.equal(vm.lastHeartbeatAt, now);
    assert.equal(vm.url, 'http://127.0.0.1:4101');
  });

  it('refuses to move a registered VM to another tenant, and leaves the record unchanged', async () => {
    await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    await assert.rejects(
      register({ id: 'vm-a1', tenant: 'tenant-b', url: 'http://evil:1' }),
      (error: unknown) => error instanceof ConflictError && error.message.includes('registered to tenant tenant-a'),
    );
    assert.equal(repository.records.get('vm-a1')?.tenant, 'tenant-a');
    assert.equal(repository.records.get('vm-a1')?.url, 'http://127.0.0.1:3101');
  });

  it('lets only the holder of the current token re-register a live VM, and rotates its credentials', async () => {
    const first = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    for (const token of [undefined, 'f'.repeat(64)]) {
      await assert.rejects(
        register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://evil:1' }, token),
        (e: unknown) => e instanceof ConflictError && /taken by a live VM/.test(e.message),
      );
    }
    assert.equal(repository.records.get('vm-a1')?.url, 'http://127.0.0.1:3101');
    const second = await register(
      { id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' },
      first.credentials.token,
    );
    assert.notEqual(second.credentials.token, first.credentials.token);
    await assert.rejects(registry.authenticate(first.credentials.token), ForbiddenError);
    assert.equal((await registry.authenticate(second.credentials.token)).id, 'vm-a1');
  });

  it('shows a VM as not alive once its lease has passed without a heartbeat, and alive again after one', async () => {
    const { credentials } = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    now += 15_001;
    assert.equal((await registry.get('vm-a1')).alive, false);
    await registry.heartbeat('vm-a1', credentials.token);
    assert.equal((await registry.get('vm-a1')).alive, true);
  });

  it("refuses a heartbeat or deregistration with another VM's token", async () => {
    await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    const other = await register({ id: 'vm-a2', tenant: 'tenant-a', url: 'http://127.0.0.1:3102' });
    await assert.rejects(registry.heartbeat('vm-a1', other.credentials.token), ForbiddenError);
    await assert.rejects(registry.deregister('vm-a1', other.credentials.token), ForbiddenError);
    assert.ok(repository.records.has('vm-a1'));
  });

  it('answers a heartbeat or lookup for an unknown VM with NotFound saying what to do', async () => {
    await assert.rejects(
      registry.heartbeat('vm-zz', 'a'.repeat(64)),
      (e: unknown) => e instanceof NotFoundError && /POST \/vms/.test(e.message),
    );
    await assert.rejects(registry.get('vm-zz'), NotFoundError);
    await assert.rejects(registry.deregister('vm-zz', 'a'.repeat(64)), NotFoundError);
  });

  it('lists VMs, optionally of one tenant, and forgets a deregistered one and its ACL user', async () => {
    const a1 = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    now += 1;
    await register({ id: 'vm-b1', tenant: 'tenant-b', url: 'http://127.0.0.1:3103' });
    assert.deepEqual(
      (await registry.list()).map((vm) => vm.id),
      ['vm-a1', 'vm-b1'],
    );
    assert.deepEqual(
      (await registry.list({ tenant: 'tenant-b' })).map((vm) => vm.id),
      ['vm-b1'],
    );
    await registry.deregister('vm-a1', a1.credentials.token);
    assert.deepEqual(
      (await registry.list()).map((vm) => vm.id),
      ['vm-b1'],
    );
    assert.equal(acl.users.has('vm-vm-a1'), false);
    await assert.rejects(registry.authenticate(a1.credentials.token), ForbiddenError);
  });

  describe('tenants', () => {
    it("gives every VM its tenant's VLAN id, the one the tenant got when it was declared", async () => {
      const a1 = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
      const a2 = await register({ id: 'vm-a2', tenant: 'tenant-a', url: 'http://127.0.0.1:3102' });
      const b1 = await register({ id: 'vm-b1', tenant: 'tenant-b', url: 'http://127.0.0.1:3103' });
      assert.deepEqual([a1.vm.vlan, a2.vm.vlan, b1.vm.vlan], [1, 1, 2]);
      assert.equal((await registry.get('vm-b1')).vlan, 2);
    });

    it('refuses a VM of an undeclared tenant, writing nothing, whatever secret it sends', async () => {
      for (const secret of [undefined, testTenantSecret('tenant-z')]) {
        await assert.rejects(
          registry.register({ id: 'vm-z1', tenant: 'tenant-z', url: 'http://127.0.0.1:1' }, undefined, secret),
          (e: unknown) => e instanceof ForbiddenError && /tenant tenant-z is not declared/.test(e.message),
        );
      }
      assert.equal(repository.records.has('vm-z1'), false);
      assert.equal(acl.users.has('vm-vm-z1'), false);
      assert.equal(tenantStore.vlans.has('tenant-z'), false, 'no VLAN for a made-up tenant');
    });

    it("refuses a VM without its tenant's secret or with another tenant's, never echoing the secret", async () => {
      const url = 'http://127.0.0.1:1';
      await assert.rejects(
        registry.register({ id: 'vm-x1', tenant: 'tenant-b', url }, undefined, undefined),
        (e: unknown) => e instanceof ForbiddenError && /needs the tenant's enrollment secret/.test(e.message),
      );
      await assert.rejects(
        registry.register({ id: 'vm-x1', tenant: 'tenant-b', url }, undefined, testTenantSecret('tenant-a')),
        (e: unknown) =>
          e instanceof ForbiddenError &&
          /not tenant tenant-b's enrollment secret/.test(e.message) &&
          !e.message.includes(testTenantSecret('tenant-a')),
      );
      assert.equal(repository.records.has('vm-x1'), false);
    });

    it('lets an expired id be claimed again only with its tenant secret', async () => {
      const first = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
      now += 15_001;
      await assert.rejects(
        registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://evil:1' }, undefined, 'guess'),
        ForbiddenError,
      );
      assert.equal(repository.records.get('vm-a1')?.url, 'http://127.0.0.1:3101');
      assert.equal((await registry.authenticate(first.credentials.token)).id, 'vm-a1');
      const claimed = await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:4101' });
      assert.equal(claimed.vm.url, 'http://127.0.0.1:4101');
    });

    it("caps a tenant's live VMs at maxVms, counting neither re-registrations nor expired VMs", async () => {
      const b1 = await register({ id: 'vm-b1', tenant: 'tenant-b', url: 'http://127.0.0.1:1' });
      await register({ id: 'vm-b2', tenant: 'tenant-b', url: 'http://127.0.0.1:2' });
      await assert.rejects(
        register({ id: 'vm-b3', tenant: 'tenant-b', url: 'http://127.0.0.1:3' }),
        (e: unknown) =>
          e instanceof QuotaExceededError &&
          /quota maxVms exceeded: tenant tenant-b has 2 VM\(s\) with a live lease and its limit is 2/.test(e.message),
      );
      assert.equal(repository.records.has('vm-b3'), false);
      await register({ id: 'vm-b1', tenant: 'tenant-b', url: 'http://127.0.0.1:1' }, b1.credentials.token);
      now += 15_001;
      await register({ id: 'vm-b3', tenant: 'tenant-b', url: 'http://127.0.0.1:3' });
    });

    it("deletes a tenant's expired VMs with it, and refuses while any is alive", async () => {
      await register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:1' });
      assert.deepEqual(await registry.releaseExpiredVmsOf('tenant-a'), ['vm-a1']);
      assert.ok(repository.records.has('vm-a1'));
      now += 15_001;
      assert.deepEqual(await registry.releaseExpiredVmsOf('tenant-a'), []);
      assert.equal(repository.records.has('vm-a1'), false);
      assert.equal(acl.users.has('vm-vm-a1'), false);
    });
  });
});
