import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, NotFoundError } from '@tenantlab/shared';
import type { RegistryRepository } from './registry.repository';
import { RegistryService } from './registry.service';
import type { VmRecord } from './vm-record';

/** Stands in for Redis I/O only; the behaviour under test is the service's. */
class InMemoryRegistryRepository implements Pick<RegistryRepository, 'find' | 'save' | 'touch' | 'remove' | 'list'> {
  readonly records = new Map<string, VmRecord>();

  async find(id: string): Promise<VmRecord | undefined> {
    const record = this.records.get(id);
    return record && { ...record };
  }

  async save(record: VmRecord): Promise<void> {
    this.records.set(record.id, { ...record });
  }

  async touch(id: string, at: number): Promise<boolean> {
    const record = this.records.get(id);
    if (!record) return false;
    record.lastHeartbeatAt = at;
    return true;
  }

  async remove(id: string): Promise<boolean> {
    return this.records.delete(id);
  }

  async list(): Promise<VmRecord[]> {
    return [...this.records.values()].sort((a, b) => a.registeredAt - b.registeredAt);
  }
}

describe('RegistryService', () => {
  let now: number;
  let repository: InMemoryRegistryRepository;
  let registry: RegistryService;

  beforeEach(() => {
    now = 1_000_000;
    repository = new InMemoryRegistryRepository();
    registry = new RegistryService(repository as unknown as RegistryRepository, { VM_LEASE_MS: 15_000 }, () => now);
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
    });
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

  it('shows a VM as not alive once its lease has passed without a heartbeat, and alive again after one', async () => {
    await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
    now += 15_001;
    assert.equal((await registry.get('vm-a1')).alive, false);
    await registry.heartbeat('vm-a1');
    assert.equal((await registry.get('vm-a1')).alive, true);
  });

  it('answers a heartbeat or lookup for an unknown VM with NotFound saying what to do', async () => {
    await assert.rejects(
      registry.heartbeat('vm-zz'),
      (e: unknown) => e instanceof NotFoundError && /POST \/vms/.test(e.message),
    );
    await assert.rejects(registry.get('vm-zz'), NotFoundError);
    await assert.rejects(registry.deregister('vm-zz'), NotFoundError);
  });

  it('lists VMs, optionally of one tenant, and forgets a deregistered one', async () => {
    await registry.register({ id: 'vm-a1', tenant: 'tenant-a', url: 'http://127.0.0.1:3101' });
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
    await registry.deregister('vm-a1');
    assert.deepEqual(
      (await registry.list()).map((vm) => vm.id),
      ['vm-b1'],
    );
  });
});
