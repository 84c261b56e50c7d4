import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  ConflictError,
  DomainError,
  NotFoundError,
  type PageTable,
  type TenantProgram,
  ValidationError,
} from '@tenantlab/shared';
import type { AclRepository } from '../acl/acl.repository';
import { AclService } from '../acl/acl.service';
import type { CallerIdentity } from '../circuits/circuits.service';
import type { RegistryRepository } from '../registry/registry.repository';
import { QuotaExceededError } from '../circuits/circuit.errors';
import { RegistryService } from '../registry/registry.service';
import type { TenantsService } from '../tenants/tenants.service';
import {
  InMemoryAclRepository,
  InMemoryCircuitsRepository,
  InMemoryRegistryRepository,
  declareTestTenants,
  testTenantSecret,
  inMemoryVmKeys,
} from '../testing/in-memory-repositories';
import type { AllocatorClient, LinkedPipeline, ProgramAdmitted } from './allocator.client';
import type { TableEntryDto } from './dto/table-entry.dto';
import { ProgramsService } from './programs.service';
import type { SwitchClient } from './switch.client';

// The allocator and switch clients are the I/O boundary (like repositories): these stand-ins record what the
// service asked them, for which tenant, and answer like the real services would.

class StandInAllocator implements Pick<AllocatorClient, 'submit' | 'remove' | 'pipeline'> {
  readonly calls: { method: string; tenant?: string; vms?: readonly string[]; program?: unknown }[] = [];
  current: LinkedPipeline | undefined;
  failWith: DomainError | undefined;

  async submit(tenant: string, vms: readonly string[], program: unknown) {
    this.calls.push({ method: 'submit', tenant, vms, program });
    if (this.failWith) throw this.failWith;
    const admitted: ProgramAdmitted = { version: 1, pageTable: {}, resources: RESOURCES };
    return { created: true, admitted };
  }

  async remove(tenant: string): Promise<void> {
    this.calls.push({ method: 'remove', tenant });
    if (this.failWith) throw this.failWith;
  }

  async pipeline(): Promise<LinkedPipeline | undefined> {
    this.calls.push({ method: 'pipeline' });
    return this.current;
  }
}

class StandInSwitch implements Pick<SwitchClient, 'addEntry' | 'removeEntry' | 'readRegister' | 'readCounter'> {
  readonly calls: { method: string; tenant: string; name: string; body?: unknown; index?: number }[] = [];
  failWith: DomainError | undefined;

  async addEntry(tenant: string, table: string, entry: TableEntryDto) {
    this.record({ method: 'addEntry', tenant, name: table, body: entry });
    return { table, entries: 1 };
  }

  async removeEntry(tenant: string, table: string, key: unknown): Promise<void> {
    this.record({ method: 'removeEntry', tenant, name: table, body: key });
  }

  async readRegister(tenant: string, register: string, index: number) {
    this.record({ method: 'readRegister', tenant, name: register, index });
    return { register, index, value: '0' };
  }

  async readCounter(tenant: string, counter: string, index: number) {
    this.record({ method: 'readCounter', tenant, name: counter, index });
    return { counter, index, packets: 0, bytes: 0 };
  }

  private record(call: StandInSwitch['calls'][number]): void {
    this.calls.push(call);
    if (this.failWith) throw this.failWith;
  }
}

const RESOURCES = { tables: 1, tableEntries: 64, registerBits: 0, counters: 4112, maxOpsPerPacket: 4, headerBytes: 0 };

function linked(tenant: string, name: string): LinkedPipeline['tenants'][string] {
  const program = { name, version: 1 } as unknown as TenantProgram;
  const pageTable: PageTable = {};
  return { program: { tenant, program, resources: RESOURCES }, pageTable };
}

describe('ProgramsService', () => {
  let allocator: StandInAllocator;
  let switchApi: StandInSwitch;
  let programs: ProgramsService;
  const a1: CallerIdentity = { id: 'vm-a1', tenant: 'tenant-a' };
  const b1: CallerIdentity = { id: 'vm-b1', tenant: 'tenant-b' };
  let tenants: TenantsService;

  beforeEach(async () => {
    const registryRepository = new InMemoryRegistryRepository();
    const acl = new InMemoryAclRepository(registryRepository, new InMemoryCircuitsRepository());
    let now = 1_000_000;
    tenants = (
      await declareTestTenants(['tenant-a', 'tenant-b', 'tenant-c'], { caps: { 'tenant-b': { maxPrograms: 0 } } })
    ).tenants;
    const registry = new RegistryService(
      registryRepository as unknown as RegistryRepository,
      new AclService(acl as unknown as AclRepository),
      { VM_LEASE_MS: 15_000 },
      () => now++,
      tenants,
      inMemoryVmKeys(),
    );
    for (const [id, tenant] of [
      ['vm-a1', 'tenant-a'],
      ['vm-b1', 'tenant-b'],
      ['vm-a2', 'tenant-a'],
      ['vm-b2', 'tenant-b'],
    ]) {
      await registry.register({ id, tenant, url: `http://127.0.0.1:1/${id}` }, undefined, testTenantSecret(tenant));
    }
    allocator = new StandInAllocator();
    switchApi = new StandInSwitch();
    programs = new ProgramsService(
      registry,
      allocator as unknown as AllocatorClient,
      switchApi as unknown as SwitchClient,
      tenants,
    );
  });

  it('refuses a program to a tenant whose maxPrograms cap is 0, naming the cap, before calling the allocator', async () => {
    await assert.rejects(
      programs.submit(b1, { name: 'p' }),
      (e: unknown) => e instanceof QuotaExceededError && /quota maxPrograms exceeded: tenant tenant-b/.test(e.message),
    );
    assert.deepEqual(allocator.calls, []);
  });

  it("submits for the caller's tenant with only that tenant's registered VMs, whatever the document says", async () => {
    const document = { name: 'p', version: 1, tenant: 'tenant-b', vms: ['vm-b1'] };
    const { created } = await programs.submit(a1, document);
    assert.equal(created, true);
    assert.deepEqual(allocator.calls, [
      { method: 'submit', tenant: 'tenant-a', vms: ['vm-a1', 'vm-a2'], program: document },
    ]);
  });

  it("removes the caller's tenant's program, never another's", async () => {
    await programs.remove(b1);
    assert.deepEqual(allocator.calls, [{ method: 'remove', tenant: 'tenant-b' }]);
  });

  it("shows the caller's tenant's entry of the pipeline and nothing of other tenants'", async () => {
    allocator.current = {
      version: 7,
      createdAt: new Date(0).toISOString(),
      tenants: { 'tenant-a': linked('tenant-a', 'flow_counters') },
    };
    const view = await programs.get(a1);
    assert.equal(view.version, 7);
    assert.equal(view.program.name, 'flow_counters');
    assert.deepEqual(view.pageTable, {});
    await assert.rejects(
      programs.get(b1),
      (e: unknown) => e instanceof NotFoundError && /tenant tenant-b has no program.*PUT \/program/.test(e.message),
    );
  });

  it('answers 404 for GET when no pipeline has been linked at all', async () => {
    allocator.current = undefined;
    await assert.rejects(programs.get(a1), NotFoundError);
  });

  it("keeps the allocator's errors as they are: code, message and details", async () => {
    const refused = new ValidationError('program is invalid', ['counters[0].size: must be from 1 to 65536']);
    allocator.failWith = refused;
    await assert.rejects(programs.submit(a1, {}), (e: unknown) => e === refused);
    const full = new DomainError('INSUFFICIENT_CAPACITY', 'does not fit the switch');
    allocator.failWith = full;
    await assert.rejects(programs.submit(a1, {}), (e: unknown) => e === full);
  });

  it("sends every switch call with the caller's tenant, and passes its errors through", async () => {
    const entry = { key: [{ value: 1 }], action: 'ignore' } as TableEntryDto;
    assert.deepEqual(await programs.addEntry(b1, 'watch', entry), { table: 'watch', entries: 1 });
    await programs.removeEntry(b1, 'watch', { key: [{ value: 1 }] });
    await programs.readRegister(b1, 'seen', 3);
    await programs.readCounter(b1, 'flows', 4);
    assert.deepEqual(
      switchApi.calls.map((call) => [call.method, call.tenant, call.name]),
      [
        ['addEntry', 'tenant-b', 'watch'],
        ['removeEntry', 'tenant-b', 'watch'],
        ['readRegister', 'tenant-b', 'seen'],
        ['readCounter', 'tenant-b', 'flows'],
      ],
    );
    const full = new ConflictError('table watch is full');
    switchApi.failWith = full;
    await assert.rejects(programs.addEntry(a1, 'watch', entry), (e: unknown) => e === full);
  });
});
