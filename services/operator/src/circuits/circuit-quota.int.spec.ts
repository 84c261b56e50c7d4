import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import { REDIS_KEYS } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { circuitCharges, type QuotaLimits } from './circuit-quota';
import type { CircuitRecord } from './circuit-record';
import { CircuitsRepository } from './circuits.repository';

const MiB = 1024 * 1024;
const capacity = { entries: 16, bytes: 2 * MiB };

/**
 * The quota accounting production runs: the Lua scripts of CircuitsRepository.create (check every charge, take all
 * or none) and beginTeardown (refund once, what was taken), on a real Redis. CircuitsService only computes the
 * charges and words the refusal (circuits.service.spec.ts).
 */
describe('circuit quotas in Redis (CircuitsRepository scripts)', () => {
  let redis: TestRedis;
  let admin: Redis;
  let repository: CircuitsRepository;

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    repository = new CircuitsRepository(admin);
  });

  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  /** Names unique to one test, so tests share the server but no holders. */
  const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

  function circuit(a: { vm: string; tenant: string }, b: { vm: string; tenant: string }, bytes = capacity.bytes) {
    const record: CircuitRecord = {
      id: unique('circuit'),
      mode: 'stream',
      service: 'db',
      capacity: { entries: capacity.entries, bytes },
      a,
      b,
      createdAt: Date.now(),
      state: 'opening',
    };
    return record;
  }

  const used = async (field: string): Promise<number> =>
    Number((await admin.hget(REDIS_KEYS.circuitUsage, field)) ?? '0');

  it('takes charges up to the limit exactly, then refuses the first that would pass it, with its use', async () => {
    const a = { vm: unique('vm-a1'), tenant: unique('tenant-a') };
    const b = { vm: unique('vm-a2'), tenant: a.tenant };
    const limits: QuotaLimits = { MAX_CIRCUITS_PER_VM: 2, TENANT_RING_BYTES: 256 * MiB };
    for (let i = 0; i < 2; i++) {
      const record = circuit(a, b);
      assert.equal(await repository.create(record, circuitCharges(record, limits)), undefined);
    }
    assert.equal(await used(`MAX_CIRCUITS_PER_VM:${a.vm}`), 2, 'at the limit is allowed');
    assert.equal(await used(`TENANT_RING_BYTES:${a.tenant}`), 2 * 4 * capacity.bytes, 'both ends, both rings');

    const third = circuit(a, b);
    const refused = await repository.create(third, circuitCharges(third, limits));
    assert.deepEqual(refused, {
      exceeded: { quota: 'MAX_CIRCUITS_PER_VM', holder: a.vm, amount: 1, limit: 2 },
      used: 2,
    });
    assert.equal(await admin.exists(REDIS_KEYS.circuit(third.id)), 0, 'a refused circuit leaves no record');
    assert.equal(await admin.sismember(REDIS_KEYS.circuitIndex, third.id), 0, 'nor an index entry');
    assert.equal(await admin.sismember(REDIS_KEYS.vmCircuits(a.vm), third.id), 0);
  });

  it('takes all charges or none: a refusal on a later charge leaves the earlier ones untaken', async () => {
    const a = { vm: unique('vm-a1'), tenant: unique('tenant-a') };
    const b = { vm: unique('vm-b1'), tenant: unique('tenant-b') };
    // Tenant B's ring bytes are the charge that fails: the VM slots and tenant A's bytes come before it.
    const limits: QuotaLimits = { MAX_CIRCUITS_PER_VM: 64, TENANT_RING_BYTES: 6 * MiB };
    await admin.hset(REDIS_KEYS.circuitUsage, `TENANT_RING_BYTES:${b.tenant}`, 3 * MiB);
    const record = circuit(a, b);
    const charges = circuitCharges(record, limits);
    const failing = charges.findIndex((c) => c.quota === 'TENANT_RING_BYTES' && c.holder === b.tenant);
    assert.ok(failing > 0, 'the failing charge is not the first');
    const refused = await repository.create(record, charges);
    assert.deepEqual(refused, { exceeded: charges[failing], used: 3 * MiB });
    for (const field of [
      `MAX_CIRCUITS_PER_VM:${a.vm}`,
      `MAX_CIRCUITS_PER_VM:${b.vm}`,
      `TENANT_RING_BYTES:${a.tenant}`,
    ]) {
      assert.equal(await admin.hexists(REDIS_KEYS.circuitUsage, field), 0, `${field} untouched`);
    }
    assert.equal(await used(`TENANT_RING_BYTES:${b.tenant}`), 3 * MiB);
  });

  it('refunds what each circuit took, once, however many teardowns begin', async () => {
    const a = { vm: unique('vm-a1'), tenant: unique('tenant-a') };
    const b = { vm: unique('vm-b1'), tenant: unique('tenant-b') };
    const kept = circuit(a, b, MiB);
    const closed = circuit(a, b, 2 * MiB);
    const limits: QuotaLimits = { MAX_CIRCUITS_PER_VM: 64, TENANT_RING_BYTES: 256 * MiB };
    assert.equal(await repository.create(kept, circuitCharges(kept, limits)), undefined);
    assert.equal(await repository.create(closed, circuitCharges(closed, limits)), undefined);
    assert.equal(await used(`TENANT_RING_BYTES:${a.tenant}`), 2 * MiB + 4 * MiB);

    // Two teardowns (a VM's close racing the reaper): the first reason wins, the charges come back once.
    assert.equal(await repository.beginTeardown(closed, 'closed by vm-a1'), 'closed by vm-a1');
    assert.equal(await repository.beginTeardown(closed, 'lease expired'), 'closed by vm-a1');
    assert.equal(await used(`TENANT_RING_BYTES:${a.tenant}`), 2 * MiB, "only the closed circuit's 4 MiB refunded");
    assert.equal(await used(`MAX_CIRCUITS_PER_VM:${a.vm}`), 1);
    assert.equal(await admin.sismember(REDIS_KEYS.vmCircuits(a.vm), closed.id), 0, 'it left the grant set');

    // A holder whose use is back to zero disappears from the usage hash.
    assert.equal(await repository.beginTeardown(kept, 'closed by vm-b1'), 'closed by vm-b1');
    for (const field of [
      `TENANT_RING_BYTES:${a.tenant}`,
      `MAX_CIRCUITS_PER_VM:${a.vm}`,
      `MAX_CIRCUITS_PER_VM:${b.vm}`,
    ]) {
      assert.equal(await admin.hexists(REDIS_KEYS.circuitUsage, field), 0, `${field} back to nothing`);
    }
    assert.equal(await repository.beginTeardown(circuit(a, b), 'never created'), undefined);
  });

  it("refuses past a tenant's TENANT_RING_ENTRIES across its VMs, each under VM_RING_ENTRIES, and refunds it at teardown", async () => {
    const tenant = unique('tenant-e');
    const [a1, a2, a3, a4] = ['vm-a1', 'vm-a2', 'vm-a3', 'vm-a4'].map((vm) => ({ vm: unique(vm), tenant }));
    // The tenant's own cap (48) over the operator's default; each circuit inside it charges 2 x 16 entries.
    const limits: QuotaLimits = {
      MAX_CIRCUITS_PER_VM: 64,
      TENANT_RING_BYTES: 1024 * MiB,
      VM_RING_ENTRIES: 32,
      TENANT_RING_ENTRIES: 131_072,
      perTenant: { [tenant]: { TENANT_RING_ENTRIES: 48 } },
    };
    const first = circuit(a1, a2);
    assert.equal(await repository.create(first, circuitCharges(first, limits)), undefined);
    assert.equal(await used(`TENANT_RING_ENTRIES:${tenant}`), 2 * capacity.entries, 'both endpoints, one ring each');

    // Other VMs of the same tenant, each far under its own VM_RING_ENTRIES: the tenant's total is what refuses.
    const second = circuit(a3, a4);
    const refused = await repository.create(second, circuitCharges(second, limits));
    assert.deepEqual(refused, {
      exceeded: { quota: 'TENANT_RING_ENTRIES', holder: tenant, amount: 2 * capacity.entries, limit: 48 },
      used: 2 * capacity.entries,
    });
    for (const vm of [a3.vm, a4.vm]) {
      assert.equal(await admin.hexists(REDIS_KEYS.circuitUsage, `VM_RING_ENTRIES:${vm}`), 0, `${vm} charged nothing`);
    }
    assert.equal(await admin.exists(REDIS_KEYS.circuit(second.id)), 0, 'a refused circuit leaves no record');

    // Closing the first circuit gives the tenant its entries back, and the refused one fits.
    assert.equal(await repository.beginTeardown(first, 'closed by vm-a1'), 'closed by vm-a1');
    assert.equal(await admin.hexists(REDIS_KEYS.circuitUsage, `TENANT_RING_ENTRIES:${tenant}`), 0, 'back to nothing');
    assert.equal(await repository.create(second, circuitCharges(second, limits)), undefined);
    assert.equal(await used(`TENANT_RING_ENTRIES:${tenant}`), 2 * capacity.entries);
  });

  it('lets concurrent creates take no more than the limit', async () => {
    const listener = { vm: unique('vm-l'), tenant: unique('tenant-l') };
    const limits: QuotaLimits = { MAX_CIRCUITS_PER_VM: 5, TENANT_RING_BYTES: 1024 * MiB };
    // Twenty callers at once, each on its own connection, all wanting a slot on the same listener.
    const connections = Array.from({ length: 20 }, () => new Redis(redis.url));
    try {
      const results = await Promise.all(
        connections.map((connection, i) => {
          const record = circuit({ vm: unique(`vm-c${i}`), tenant: unique('tenant-c') }, listener);
          return new CircuitsRepository(connection).create(record, circuitCharges(record, limits));
        }),
      );
      assert.equal(results.filter((r) => r === undefined).length, 5, 'exactly the limit created');
      assert.ok(results.every((r) => r === undefined || r.used === 5));
      assert.equal(await used(`MAX_CIRCUITS_PER_VM:${listener.vm}`), 5);
    } finally {
      for (const connection of connections) connection.disconnect();
    }
  });
});
