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
});
