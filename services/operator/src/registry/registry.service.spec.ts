import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, NotFoundError, PORT_KEYS, TENANT_VLAN_RANGE, VM_KEYS } from '@tenantlab/shared';
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
import { TenantVlansExhaustedError } from './registry.errors';
import { RegistryService } from './registry.service';
import type { TenantVlanRepository } from './tenant-vlan.repository';
import { InMemoryTenantVlanRepository } from '../testing/in-memory-repositories';

describe('RegistryService', () => {
  let now: number;
  let repository: InMemoryRegistryRepository;
  let acl: InMemoryAclRepository;
  let vlans: InMemoryTenantVlanRepository;
  let registry: RegistryService;
  let vmKeys: InMemoryVmKeysRepository;

  beforeEach(() => {
    now = 1_000_000;
    repository = new InMemoryRegistryRepository();
    acl = new InMemoryAclRepository(repository);
    vlans = new InMemoryTenantVlanRepository();
    vmKeys = new InMemoryVmKeysRepository();
    registry = new RegistryService(
      repository as unknown as RegistryRepository,
      new AclService(acl as unknown as AclRepository),
      { VM_LEASE_MS: 15_000 },
      () => now,
      vlans as unknown as TenantVlanRepository,
      inMemoryVmKeys(vmKeys),
    );
  });

  it('registers a new VM as alive', async () => {
    const { vm, created } = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
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
    const { credentials } = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
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
    const { credentials } = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    assert.deepEqual([...vmKeys.keys].sort(), [...keys].sort());
    await registry.deregister('vm-a1', credentials.token);
    assert.deepEqual([...vmKeys.keys], []);
  });

  it("starts a new holder of an expired id empty, after closing the old holder's connections", async () => {
    const first = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' }, first.credentials.token);
    assert.deepEqual(vmKeys.disconnected, ['vm-a1'], 'the same holder keeps its connections and keys');
    now += 15_001;
    await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3199' });
    assert.deepEqual(vmKeys.disconnected, ['vm-a1', 'vm-a1']);
    assert.ok(vmKeys.keys.has(PORT_KEYS.tx('vm-a1')));
  });

  it('lets a restarted VM register again, keeping its first registration time and taking its new URL', async () => {
    await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    const first = now;
    now += 60_000;
    const { vm, created } = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:4101' });
    assert.equal(created, false);
    assert.equal(vm.registeredAt, first);
    assert.equal(vm.lastHeartbeatAt, now);
    assert.equal(vm.url, 'http://127.0.0.1:4101');
  });

  it('refuses to move a registered VM to another tenant, and leaves the record unchanged', async () => {
    await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    await assert.rejects(
      registry.register({ id: 'vm-a1', tenant: 'tenant-b', url: 'http://evil:1' }),
      (error: unknown) => error instanceof ConflictError && error.message.includes('registered to tenant tenant-a'),
    );
    assert.equal(repository.records.get('vm-a1')?.tenant, 'tenant-a');
    assert.equal(repository.records.get('vm-a1')?.url, 'http://127.0.0.1:3101');
  });

  it('lets only the holder of the current token re-register a live VM, and rotates its credentials', async () => {
    const first = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    for (const token of [undefined, 'f'.repeat(64)]) {
      await assert.rejects(
        registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://evil:1' }, token),
        (e: unknown) => e instanceof ConflictError && /taken by a live VM/.test(e.message),
      );
    }
    assert.equal(repository.records.get('vm-a1')?.url, 'http://127.0.0.1:3101');
    const second = await registry.register(
      { id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' },
      first.credentials.token,
    );
    assert.notEqual(second.credentials.token, first.credentials.token);
    await assert.rejects(registry.authenticate(first.credentials.token), ForbiddenError);
    assert.equal((await registry.authenticate(second.credentials.token)).id, 'vm-a1');
  });

  it('shows a VM as not alive once its lease has passed without a heartbeat, and alive again after one', async () => {
    const { credentials } = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    now += 15_001;
    assert.equal((await registry.get('vm-a1')).alive, false);
    await registry.heartbeat('vm-a1', credentials.token);
    assert.equal((await registry.get('vm-a1')).alive, true);
  });

  it("refuses a heartbeat or deregistration with another VM's token", async () => {
    await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    const other = await registry.register({ id: 'vm-a2', tenant: 'tenant-a', url: 'http://127.0.0.1:3102' });
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
    const a1 = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    now += 1;
    await registry.register({ id: 'vm-b1', tenant: 'tenant-b', url: 'http://127.0.0.1:3103' });
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

  describe('tenant VLANs', () => {
    it("gives a tenant's first VM a VLAN id, its other VMs the same one, and the next tenant the next id", async () => {
      const a1 = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
      const a2 = await registry.register({ id: 'vm-a2', tenant: 'tenant-a', url: 'http://127.0.0.1:3102' });
      const b1 = await registry.register({ id: 'vm-b1', tenant: 'tenant-b', url: 'http://127.0.0.1:3103' });
      assert.deepEqual([a1.vm.vlan, a2.vm.vlan, b1.vm.vlan], [1, 1, 2]);
      assert.deepEqual(
        (await registry.list()).map((vm) => [vm.id, vm.vlan]),
        [
          ['vm-a1', 1],
          ['vm-a2', 1],
          ['vm-b1', 2],
        ],
      );
      assert.equal((await registry.get('vm-b1')).vlan, 2);
    });

    it('keeps the VLAN across re-registration and after the tenant has no VM left; a new tenant never reuses it', async () => {
      const a1 = await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
      const again = await registry.register(
        { id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:4101' },
        a1.credentials.token,
      );
      assert.equal(again.vm.vlan, 1);
      await registry.deregister('vm-a1', again.credentials.token);
      const b1 = await registry.register({ id: 'vm-b1', tenant: 'tenant-b', url: 'http://127.0.0.1:3103' });
      assert.equal(b1.vm.vlan, 2);
      const back = await registry.register({ id: 'vm-a9', tenant: 'tenant-a', url: 'http://127.0.0.1:3109' });
      assert.equal(back.vm.vlan, 1);
    });

    it('takes the first free id after the last one given out, wrapping from 4094 to 1', async () => {
      vlans.vlans.set('tenant-old', 1);
      vlans.last = TENANT_VLAN_RANGE.max;
      const { vm } = await registry.register({ id: 'vm-n1', tenant: 'tenant-new', url: 'http://127.0.0.1:3101' });
      assert.equal(vm.vlan, 2);
    });

    it('refuses the first VM of a new tenant when all 4094 ids are taken, writing nothing; known tenants still register', async () => {
      for (let i = 0; vlans.vlans.size < TENANT_VLAN_RANGE.max; i++) await vlans.vlanOf(`tenant-${i}`);
      await assert.rejects(
        registry.register({ id: 'vm-z1', tenant: 'tenant-z', url: 'http://127.0.0.1:3101' }),
        (e: unknown) =>
          e instanceof TenantVlansExhaustedError &&
          e instanceof ConflictError &&
          /tenant tenant-z has no VLAN id and none is left: all 4094 \(1-4094\)/.test(e.message) &&
          /Register this VM under an existing tenant/.test(e.message),
      );
      assert.equal(repository.records.has('vm-z1'), false);
      assert.equal(acl.users.has('vm-vm-z1'), false);
      const { vm } = await registry.register({ id: 'vm-k1', tenant: 'tenant-7', url: 'http://127.0.0.1:3102' });
      assert.equal(vm.vlan, 8);
    });
  });
});
