import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { circuitCharges, describeQuotaExceeded } from './circuit-quota';

const limits = { MAX_CIRCUITS_PER_VM: 64, TENANT_RING_BYTES: 256 * 1024 * 1024 };
const capacity = { entries: 4096, bytes: 4 * 1024 * 1024 };

describe('circuitCharges', () => {
  it('charges each endpoint VM one circuit and each endpoint tenant both rings', () => {
    const charges = circuitCharges(
      { a: { vm: 'vm-a1', tenant: 'tenant-a' }, b: { vm: 'vm-b1', tenant: 'tenant-b' }, capacity },
      limits,
    );
    assert.deepEqual(
      new Set(charges.map((c) => `${c.quota}:${c.holder}=${c.amount}/${c.limit}`)),
      new Set([
        `MAX_CIRCUITS_PER_VM:vm-a1=1/64`,
        `MAX_CIRCUITS_PER_VM:vm-b1=1/64`,
        `TENANT_RING_BYTES:tenant-a=${2 * capacity.bytes}/${limits.TENANT_RING_BYTES}`,
        `TENANT_RING_BYTES:tenant-b=${2 * capacity.bytes}/${limits.TENANT_RING_BYTES}`,
      ]),
    );
  });

  it('merges charges to the same holder, so a circuit inside one tenant counts at both its endpoints', () => {
    const charges = circuitCharges(
      { a: { vm: 'vm-a1', tenant: 'tenant-a' }, b: { vm: 'vm-a2', tenant: 'tenant-a' }, capacity },
      limits,
    );
    assert.equal(charges.find((c) => c.quota === 'TENANT_RING_BYTES')?.amount, 4 * capacity.bytes);
    assert.equal(charges.filter((c) => c.quota === 'TENANT_RING_BYTES').length, 1);
  });

  it('charges each endpoint VM the entries of the ring it writes, against VM_RING_ENTRIES or its tenant cap', () => {
    const charges = circuitCharges(
      { a: { vm: 'vm-a1', tenant: 'tenant-a' }, b: { vm: 'vm-b1', tenant: 'tenant-b' }, capacity },
      { ...limits, VM_RING_ENTRIES: 65_536, perTenant: { 'tenant-b': { VM_RING_ENTRIES: 8192 } } },
    );
    assert.deepEqual(
      charges.filter((c) => c.quota === 'VM_RING_ENTRIES').map((c) => `${c.holder}=${c.amount}/${c.limit}`),
      [`vm-a1=${capacity.entries}/65536`, `vm-b1=${capacity.entries}/8192`],
    );
    const self = { vm: 'vm-a1', tenant: 'tenant-a' };
    const both = circuitCharges({ a: self, b: self, capacity }, { ...limits, VM_RING_ENTRIES: 65_536 });
    assert.equal(both.find((c) => c.quota === 'VM_RING_ENTRIES')?.amount, 2 * capacity.entries);
  });

  it("charges each endpoint's tenant the entries of the ring it writes, against TENANT_RING_ENTRIES or its ringEntries cap", () => {
    const charges = circuitCharges(
      { a: { vm: 'vm-a1', tenant: 'tenant-a' }, b: { vm: 'vm-b1', tenant: 'tenant-b' }, capacity },
      { ...limits, TENANT_RING_ENTRIES: 131_072, perTenant: { 'tenant-b': { TENANT_RING_ENTRIES: 8192 } } },
    );
    assert.deepEqual(
      charges.filter((c) => c.quota === 'TENANT_RING_ENTRIES').map((c) => `${c.holder}=${c.amount}/${c.limit}`),
      [`tenant-a=${capacity.entries}/131072`, `tenant-b=${capacity.entries}/8192`],
    );
    // Inside one tenant both endpoints write a ring: the tenant is charged both, once, merged.
    const inside = circuitCharges(
      { a: { vm: 'vm-a1', tenant: 'tenant-a' }, b: { vm: 'vm-a2', tenant: 'tenant-a' }, capacity },
      { ...limits, TENANT_RING_ENTRIES: 131_072 },
    );
    assert.deepEqual(
      inside.filter((c) => c.quota === 'TENANT_RING_ENTRIES').map((c) => `${c.holder}=${c.amount}`),
      [`tenant-a=${2 * capacity.entries}`],
    );
  });

  it("adds up a tenant's entries over all its VMs, so VMs each under VM_RING_ENTRIES can pass TENANT_RING_ENTRIES", () => {
    const entries = { ...limits, VM_RING_ENTRIES: 65_536, TENANT_RING_ENTRIES: 131_072 };
    const big = { entries: 32_768, bytes: 1024 };
    // Two circuits on four different VMs of one tenant: every VM holds 32 768 entries, half its own cap.
    const circuits = [
      { a: { vm: 'vm-a1', tenant: 'tenant-a' }, b: { vm: 'vm-a2', tenant: 'tenant-a' }, capacity: big },
      { a: { vm: 'vm-a3', tenant: 'tenant-a' }, b: { vm: 'vm-a4', tenant: 'tenant-a' }, capacity: big },
    ];
    const charges = circuits.flatMap((circuit) => circuitCharges(circuit, entries));
    for (const vm of charges.filter((c) => c.quota === 'VM_RING_ENTRIES')) {
      assert.ok(vm.amount <= vm.limit / 2, `${vm.holder} stays at half its VM_RING_ENTRIES`);
    }
    const tenant = charges.filter((c) => c.quota === 'TENANT_RING_ENTRIES');
    assert.deepEqual(
      tenant.map((c) => `${c.holder}=${c.amount}/${c.limit}`),
      ['tenant-a=65536/131072', 'tenant-a=65536/131072'],
    );
    assert.equal(
      tenant.reduce((sum, c) => sum + c.amount, 0),
      entries.TENANT_RING_ENTRIES,
      'the two circuits take the whole tenant cap: a third, on yet other VMs, passes it',
    );
  });

  it('counts a circuit from a VM to itself twice against that VM', () => {
    const self = { vm: 'vm-a1', tenant: 'tenant-a' };
    const charges = circuitCharges({ a: self, b: self, capacity }, limits);
    assert.equal(charges.find((c) => c.quota === 'MAX_CIRCUITS_PER_VM')?.amount, 2);
  });
});

describe('describeQuotaExceeded', () => {
  it('names the quota, the holder, the use and the limit', () => {
    const message = describeQuotaExceeded({ quota: 'TENANT_RING_BYTES', holder: 'tenant-a', amount: 8, limit: 20 }, 16);
    assert.match(message, /TENANT_RING_BYTES/);
    assert.match(message, /tenant-a's circuits hold 16 ring bytes/);
    assert.match(message, /would add 8/);
    assert.match(message, /limit is 20/);
  });

  it('names the per-VM entries cap and what to do', () => {
    const message = describeQuotaExceeded({ quota: 'VM_RING_ENTRIES', holder: 'vm-a1', amount: 64, limit: 96 }, 64);
    assert.match(message, /quota VM_RING_ENTRIES exceeded \(cap vmRingEntries\)/);
    assert.match(message, /vm-a1's circuits hold 64 ring entries, this circuit would add 64/);
    assert.match(message, /limit is 96/);
  });

  it('names the per-tenant entries cap, the tenant, its use, what the circuit adds, the limit and what to do', () => {
    const message = describeQuotaExceeded(
      { quota: 'TENANT_RING_ENTRIES', holder: 'tenant-a', amount: 64, limit: 96 },
      64,
    );
    assert.match(message, /^quota TENANT_RING_ENTRIES exceeded \(cap ringEntries\): /);
    assert.match(message, /tenant tenant-a's circuits hold 64 ring entries, this circuit would add 64 /);
    assert.match(message, /capacity\.entries of the ring each endpoint in the tenant writes/);
    assert.match(message, /limit is 96; close circuits of the tenant or ask for fewer entries$/);
  });
});
