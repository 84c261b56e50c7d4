import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  vmAclGrantsCircuit,
  ConflictError,
  DependencyUnavailableError,
  JsonLogger,
  NotFoundError,
} from '@tenantlab/shared';
import type { AclRepository } from '../acl/acl.repository';
import { AclService } from '../acl/acl.service';
import type { RegistryRepository } from '../registry/registry.repository';
import { RegistryService } from '../registry/registry.service';
import type { TenantsService } from '../tenants/tenants.service';
import {
  declareTestTenants,
  testTenantSecret,
  InMemoryAclRepository,
  InMemoryCircuitsRepository,
  InMemoryRegistryRepository,
  inMemoryVmKeys,
} from '../testing/in-memory-repositories';
import type { CircuitPolicyRule } from './circuit-policy';
import { CircuitTeardownService } from './circuit-teardown.service';
import { PolicyDeniedError, QuotaExceededError } from './circuit.errors';
import type { CircuitsRepository } from './circuits.repository';
import { CallerIdentity, CircuitsService } from './circuits.service';
import { ListenersService } from './listeners.service';

const LEASE_MS = 15_000;
const MiB = 1024 * 1024;

describe('CircuitsService', () => {
  let now: number;
  let circuitsRepository: InMemoryCircuitsRepository;
  let acl: InMemoryAclRepository;
  let registry: RegistryService;
  let listeners: ListenersService;
  let config: {
    CIRCUIT_POLICY: CircuitPolicyRule[];
    MAX_CIRCUITS_PER_VM: number;
    TENANT_RING_BYTES: number;
    TENANT_RING_ENTRIES?: number;
  };
  let circuits: CircuitsService;
  /** A CircuitsService like `circuits`, but reading each tenant's caps from `tenants`. */
  let circuitsWithCaps: (tenants: TenantsService) => CircuitsService;

  const a1: CallerIdentity = { id: 'vm-a1', tenant: 'tenant-a' };
  const a2: CallerIdentity = { id: 'vm-a2', tenant: 'tenant-a' };
  const b1: CallerIdentity = { id: 'vm-b1', tenant: 'tenant-b' };
  const c1: CallerIdentity = { id: 'vm-c1', tenant: 'tenant-c' };

  beforeEach(async () => {
    now = 1_000_000;
    const registryRepository = new InMemoryRegistryRepository();
    circuitsRepository = new InMemoryCircuitsRepository();
    acl = new InMemoryAclRepository(registryRepository, circuitsRepository);
    const aclService = new AclService(acl as unknown as AclRepository);
    registry = new RegistryService(
      registryRepository as unknown as RegistryRepository,
      aclService,
      { VM_LEASE_MS: LEASE_MS },
      () => now,
      (await declareTestTenants(['tenant-a', 'tenant-b', 'tenant-c'])).tenants,
      inMemoryVmKeys(),
    );
    const logger = new JsonLogger('operator-test', 'error', () => undefined);
    const repository = circuitsRepository as unknown as CircuitsRepository;
    const teardowns = new CircuitTeardownService(repository, aclService, registry, logger);
    teardowns.onModuleInit();
    config = { CIRCUIT_POLICY: [], MAX_CIRCUITS_PER_VM: 64, TENANT_RING_BYTES: 256 * MiB };
    circuits = new CircuitsService(repository, registry, aclService, teardowns, config, () => now, logger);
    circuitsWithCaps = (tenants) =>
      new CircuitsService(repository, registry, aclService, teardowns, config, () => now, logger, tenants);
    listeners = new ListenersService(repository, { MAX_LISTENERS_PER_VM: 3 });
    for (const vm of [a1, a2, b1, c1]) {
      await registry.register(
        { id: vm.id, tenant: vm.tenant, url: `http://127.0.0.1/${vm.id}` },
        undefined,
        testTenantSecret(vm.tenant),
      );
    }
  });

  describe('target resolution', () => {
    it("prefers a listener in the caller's own tenant over an allowed one elsewhere", async () => {
      config.CIRCUIT_POLICY = [{ from: 'tenant-a', to: 'tenant-b', service: 'db' }];
      await listeners.listen(b1, 'db');
      await listeners.listen(a2, 'db');
      assert.equal((await circuits.resolveTarget(a1, { service: 'db' })).vm, 'vm-a2');
    });

    it('takes the one listener in another tenant that a rule lets the caller reach', async () => {
      config.CIRCUIT_POLICY = [{ from: 'tenant-a', to: 'tenant-b', service: 'db' }];
      await listeners.listen(b1, 'db');
      await listeners.listen(c1, 'db');
      assert.deepEqual(await circuits.resolveTarget(a1, { service: 'db' }), {
        vm: 'vm-b1',
        tenant: 'tenant-b',
        service: 'db',
      });
    });

    it('refuses a bare service that several reachable tenants offer, asking for <vm-id>/<service>', async () => {
      config.CIRCUIT_POLICY = [
        { from: 'tenant-a', to: 'tenant-b', service: 'db' },
        { from: 'tenant-a', to: 'tenant-c', service: 'db' },
      ];
      await listeners.listen(b1, 'db');
      await listeners.listen(c1, 'db');
      await assert.rejects(
        circuits.resolveTarget(a1, { service: 'db' }),
        (e: unknown) =>
          e instanceof ConflictError && /vm-b1 of tenant-b/.test(e.message) && /<vm-id>\/db/.test(e.message),
      );
      assert.equal((await circuits.resolveTarget(a1, { vm: 'vm-c1', service: 'db' })).vm, 'vm-c1');
    });

    it('takes the named VM of <vm-id>/<service>, even when the own tenant listens too', async () => {
      config.CIRCUIT_POLICY = [{ from: 'tenant-a', to: 'tenant-b', service: 'db' }];
      await listeners.listen(a2, 'db');
      await listeners.listen(b1, 'db');
      assert.equal((await circuits.resolveTarget(a1, { vm: 'vm-b1', service: 'db' })).vm, 'vm-b1');
    });

    it('answers 404 for a service nobody listens on, or a VM that does not listen on it', async () => {
      await listeners.listen(b1, 'db');
      await assert.rejects(
        circuits.resolveTarget(a1, { service: 'cache' }),
        (e: unknown) => e instanceof NotFoundError && /no VM listens on service cache/.test(e.message),
      );
      await assert.rejects(
        circuits.resolveTarget(a1, { vm: 'vm-c1', service: 'db' }),
        (e: unknown) => e instanceof NotFoundError && /vm-c1 does not listen on service db/.test(e.message),
      );
    });

    it('refuses another tenant without a rule, and a rule for one service does not open another', async () => {
      config.CIRCUIT_POLICY = [{ from: 'tenant-a', to: 'tenant-b', service: 'db' }];
      await listeners.listen(b1, 'db');
      await listeners.listen(b1, 'cache');
      assert.equal((await circuits.resolveTarget(a1, { service: 'db' })).vm, 'vm-b1');
      for (const target of [{ service: 'cache' }, { vm: 'vm-b1', service: 'cache' }]) {
        await assert.rejects(
          circuits.resolveTarget(a1, target),
          (e: unknown) =>
            e instanceof PolicyDeniedError &&
            e.message.startsWith("tenant-a may not connect to tenant-b's service cache: no rule allows it"),
        );
      }
      await listeners.listen(a2, 'api');
      await assert.rejects(circuits.resolveTarget(b1, { service: 'api' }), PolicyDeniedError, 'rules have a direction');
    });

    it('refuses a listener whose VM stopped heartbeating, as retriable', async () => {
      await listeners.listen(a2, 'db');
      now += LEASE_MS + 1;
      // The caller's lease ran out too; registering again (its lease has expired, so no token needed) renews it.
      await registry.register(
        { id: a1.id, tenant: a1.tenant, url: 'http://127.0.0.1/vm-a1' },
        undefined,
        testTenantSecret(a1.tenant),
      );
      await assert.rejects(
        circuits.resolveTarget(a1, { service: 'db' }),
        (e: unknown) => e instanceof DependencyUnavailableError && e.retriable,
      );
    });
  });

  it('sets a circuit up: both descriptors, keys, grants at both ends, and the listener told through its inbox', async () => {
    config.CIRCUIT_POLICY = [{ from: 'tenant-a', to: 'tenant-b', service: 'db:5432' }];
    await listeners.listen(b1, 'db:5432');
    const descriptor = await circuits.connect(a1, { target: 'db:5432', mode: 'datagram' });
    assert.deepEqual(descriptor, {
      id: descriptor.id,
      mode: 'datagram',
      side: 'a',
      service: 'db:5432',
      capacity: { entries: 4096, bytes: 4 * MiB },
      local: { vm: 'vm-a1', tenant: 'tenant-a' },
      peer: { vm: 'vm-b1', tenant: 'tenant-b' },
    });
    assert.ok(circuitsRepository.circuitKeys.has(descriptor.id));
    for (const user of ['vm-vm-a1', 'vm-vm-b1']) {
      assert.ok(vmAclGrantsCircuit(acl.users.get(user) ?? [], descriptor.id), user);
    }
    assert.equal(vmAclGrantsCircuit(acl.users.get('vm-vm-a2') ?? [], descriptor.id), false);
    assert.deepEqual(circuitsRepository.inboxes.get('vm-b1'), [
      {
        type: 'circuit.incoming',
        circuit: { ...descriptor, side: 'b', local: descriptor.peer, peer: descriptor.local },
      },
    ]);
    assert.deepEqual(
      (await circuits.list(b1)).map((c) => [c.id, c.side]),
      [[descriptor.id, 'b']],
    );
  });

  it('closes a circuit for either endpoint only, revoking grants and telling both ends', async () => {
    await listeners.listen(a2, 'db');
    const { id } = await circuits.connect(a1, { target: 'db', mode: 'stream' });
    await assert.rejects(circuits.close(b1, id), NotFoundError);
    await circuits.close(a2, id);
    assert.equal(circuitsRepository.circuitKeys.has(id), false);
    assert.equal(vmAclGrantsCircuit(acl.users.get('vm-vm-a1') ?? [], id), false);
    for (const vm of ['vm-a1', 'vm-a2']) {
      assert.deepEqual(circuitsRepository.inboxes.get(vm)?.at(-1), {
        type: 'circuit.closed',
        circuitId: id,
        reason: 'closed by vm-a2',
      });
    }
    await assert.rejects(circuits.close(a1, id), NotFoundError);
  });

  // The quota accounting itself (check, take all or none, refund once) is the repository's Lua, tested on a real
  // Redis in circuit-quota.int.spec.ts; the service computes the charges from its limits and words a refusal.
  describe('quotas', () => {
    it('lets a VM listen on at most MAX_LISTENERS_PER_VM services: 429 past it, a name it holds again still fine', async () => {
      for (const service of ['db', 'web', 'cache']) await listeners.listen(a1, service);
      await assert.rejects(
        listeners.listen(a1, 'queue'),
        (error: unknown) =>
          error instanceof QuotaExceededError &&
          /^quota MAX_LISTENERS_PER_VM exceeded: VM vm-a1 listens on 3 services, at most 3;/.test(error.message),
      );
      await listeners.listen(a1, 'db');
      await listeners.listen(a2, 'queue');
      await listeners.unlisten(a1, 'web');
      await listeners.listen(a1, 'queue-2');
      assert.deepEqual(
        (await listeners.list(a1)).map((listener) => listener.service),
        ['cache', 'db', 'queue-2'],
      );
    });

    it('charges each endpoint its VM slot and both rings to its tenant, at the limits configured now', async () => {
      await listeners.listen(b1, 'db');
      config.CIRCUIT_POLICY = [{ from: 'tenant-a', to: 'tenant-b', service: 'db' }];
      const capacity = { entries: 16, bytes: 2 * MiB };
      const chargesOf = (id: string) =>
        new Set(
          circuitsRepository.records.get(id)?.charges.map((c) => `${c.quota}:${c.holder}=${c.amount}/${c.limit}`),
        );
      const first = await circuits.connect(a1, { target: 'db', mode: 'stream', capacity });
      assert.deepEqual(
        chargesOf(first.id),
        new Set([
          'MAX_CIRCUITS_PER_VM:vm-a1=1/64',
          'MAX_CIRCUITS_PER_VM:vm-b1=1/64',
          `TENANT_RING_BYTES:tenant-a=${4 * MiB}/${256 * MiB}`,
          `TENANT_RING_BYTES:tenant-b=${4 * MiB}/${256 * MiB}`,
        ]),
      );
      config.MAX_CIRCUITS_PER_VM = 2;
      config.TENANT_RING_BYTES = 10 * MiB;
      const second = await circuits.connect(a1, { target: 'db', mode: 'stream', capacity });
      assert.deepEqual(
        chargesOf(second.id),
        new Set([
          'MAX_CIRCUITS_PER_VM:vm-a1=1/2',
          'MAX_CIRCUITS_PER_VM:vm-b1=1/2',
          `TENANT_RING_BYTES:tenant-a=${4 * MiB}/${10 * MiB}`,
          `TENANT_RING_BYTES:tenant-b=${4 * MiB}/${10 * MiB}`,
        ]),
      );
    });

    it("charges a tenant's rings against its own ringBytes cap, over TENANT_RING_BYTES", async () => {
      await listeners.listen(a2, 'db');
      const { tenants } = await declareTestTenants(['tenant-a'], { caps: { 'tenant-a': { ringBytes: 8 * MiB } } });
      const circuit = await circuitsWithCaps(tenants).connect(a1, {
        target: 'db',
        mode: 'stream',
        capacity: { entries: 16, bytes: MiB },
      });
      const charge = circuitsRepository.records
        .get(circuit.id)
        ?.charges.find((c) => c.quota === 'TENANT_RING_BYTES' && c.holder === 'tenant-a');
      assert.deepEqual([charge?.amount, charge?.limit], [4 * MiB, 8 * MiB]);
    });

    it('charges each tenant the entries of the rings its endpoints write, against its own ringEntries cap, over TENANT_RING_ENTRIES', async () => {
      config.TENANT_RING_ENTRIES = 131_072;
      config.CIRCUIT_POLICY = [{ from: 'tenant-a', to: 'tenant-b', service: 'db' }];
      await listeners.listen(b1, 'db');
      await listeners.listen(a2, 'db');
      const { tenants } = await declareTestTenants(['tenant-a', 'tenant-b'], {
        caps: { 'tenant-a': { ringEntries: 8192 } },
      });
      const service = circuitsWithCaps(tenants);
      const capacity = { entries: 64, bytes: MiB };
      const entriesOf = (id: string) =>
        circuitsRepository.records
          .get(id)
          ?.charges.filter((c) => c.quota === 'TENANT_RING_ENTRIES')
          .map((c) => `${c.holder}=${c.amount}/${c.limit}`);
      // Across tenants each side's tenant pays for the one ring its endpoint writes, at its own limit.
      const across = await service.connect(a1, { target: 'vm-b1/db', mode: 'stream', capacity });
      assert.deepEqual(entriesOf(across.id), ['tenant-a=64/8192', 'tenant-b=64/131072']);
      // Inside a tenant it pays for both.
      const inside = await service.connect(a1, { target: 'vm-a2/db', mode: 'stream', capacity });
      assert.deepEqual(entriesOf(inside.id), ['tenant-a=128/8192']);
    });

    it('turns a TENANT_RING_ENTRIES refusal into QUOTA_EXCEEDED naming the cap ringEntries, and sets nothing up', async () => {
      config.TENANT_RING_ENTRIES = 96;
      await listeners.listen(a2, 'db');
      circuitsRepository.refusal = (charges) => {
        const exceeded = charges.find((c) => c.quota === 'TENANT_RING_ENTRIES');
        return exceeded && { exceeded, used: 64 };
      };
      await assert.rejects(
        circuits.connect(a1, { target: 'db', mode: 'stream', capacity: { entries: 16, bytes: MiB } }),
        (e: unknown) =>
          e instanceof QuotaExceededError &&
          e.message.startsWith(
            "quota TENANT_RING_ENTRIES exceeded (cap ringEntries): tenant tenant-a's circuits hold 64 ring entries, " +
              'this circuit would add 32 ',
          ) &&
          e.message.includes('limit is 96'),
      );
      assert.equal(circuitsRepository.records.size, 0, 'no record');
      assert.equal(circuitsRepository.circuitKeys.size, 0, 'no circuit keys');
    });

    it('turns a refusal into QUOTA_EXCEEDED with the use and limit, and sets nothing up', async () => {
      await listeners.listen(a2, 'db');
      circuitsRepository.refusal = (charges) => {
        const exceeded = charges.find((c) => c.quota === 'TENANT_RING_BYTES');
        return exceeded && { exceeded, used: 9 * MiB };
      };
      await assert.rejects(
        circuits.connect(a1, { target: 'db', mode: 'stream', capacity: { entries: 16, bytes: MiB } }),
        (e: unknown) =>
          e instanceof QuotaExceededError &&
          e.message.includes('quota TENANT_RING_BYTES exceeded') &&
          e.message.includes(`tenant tenant-a's circuits hold ${9 * MiB} ring bytes`) &&
          e.message.includes(`would add ${4 * MiB}`) &&
          e.message.includes(`limit is ${256 * MiB}`),
      );
      assert.equal(circuitsRepository.records.size, 0, 'no record');
      assert.equal(circuitsRepository.circuitKeys.size, 0, 'no circuit keys');
      assert.equal(circuitsRepository.inboxes.get('vm-a2'), undefined, 'the listener was not told');
      circuitsRepository.refusal = undefined;
      await circuits.connect(a1, { target: 'db', mode: 'stream' });
    });
  });
});
