import type { CircuitEndpointInfo, RingCapacity } from '@tenantlab/shared';

export type QuotaName =
  | 'MAX_CIRCUITS_PER_VM'
  | 'TENANT_RING_BYTES'
  | 'VM_RING_BYTES'
  | 'TENANT_RING_ENTRIES'
  | 'VM_RING_ENTRIES'
  | 'TENANT_MAX_CIRCUITS';

/** The operator-wide limits; the tenant quotas (and the VM_RING_* ones) may be overridden per tenant (`perTenant`). */
export interface QuotaLimits {
  MAX_CIRCUITS_PER_VM: number;
  TENANT_RING_BYTES: number;
  VM_RING_BYTES?: number;
  TENANT_RING_ENTRIES?: number;
  VM_RING_ENTRIES?: number;
  TENANT_MAX_CIRCUITS?: number;
  /** Per tenant, the limits its caps set (for VM quotas: those of its VMs). */
  perTenant?: Record<string, Partial<Record<QuotaName, number>>>;
}

/** What one circuit takes from one quota holder (a VM or a tenant). */
export interface QuotaCharge {
  quota: QuotaName;
  /** The VM (MAX_CIRCUITS_PER_VM, VM_RING_BYTES, VM_RING_ENTRIES) or tenant (TENANT_*) the amount is counted against. */
  holder: string;
  amount: number;
  limit: number;
}

/**
 * What a circuit costs, counted per endpoint: each endpoint takes one of its VM's circuit slots, and charges its
 * tenant for both rings (2 × capacity.bytes), the memory the circuit may hold in Redis, and both its VM and its
 * tenant for the entries of the ring it writes (capacity.entries): the VM so one VM cannot take its tenant's whole
 * share, the tenant so its VM count does not multiply what its rings can hold. So a circuit inside one tenant counts
 * twice against that tenant, and one to itself twice against its VM. Charges to the same holder are merged, so a
 * limit is checked against the whole amount.
 */
export function circuitCharges(
  circuit: { a: CircuitEndpointInfo; b: CircuitEndpointInfo; capacity: RingCapacity },
  limits: QuotaLimits,
): QuotaCharge[] {
  const charges = new Map<string, QuotaCharge>();
  const add = (quota: QuotaName, holder: string, tenant: string, amount: number): void => {
    const limit = limits.perTenant?.[tenant]?.[quota] ?? limits[quota];
    // A quota without a limit (an operator-wide default not configured) is not charged.
    if (limit === undefined) return;
    const key = `${quota}:${holder}`;
    const charge = charges.get(key) ?? { quota, holder, amount: 0, limit };
    charge.amount += amount;
    charges.set(key, charge);
  };
  for (const endpoint of [circuit.a, circuit.b]) {
    add('MAX_CIRCUITS_PER_VM', endpoint.vm, endpoint.tenant, 1);
    add('TENANT_RING_BYTES', endpoint.tenant, endpoint.tenant, 2 * circuit.capacity.bytes);
    add('VM_RING_BYTES', endpoint.vm, endpoint.tenant, 2 * circuit.capacity.bytes);
    add('TENANT_RING_ENTRIES', endpoint.tenant, endpoint.tenant, circuit.capacity.entries);
    add('VM_RING_ENTRIES', endpoint.vm, endpoint.tenant, circuit.capacity.entries);
    add('TENANT_MAX_CIRCUITS', endpoint.tenant, endpoint.tenant, 1);
  }
  return [...charges.values()];
}

/** The refusal's message: which quota, whose, how much is in use, how much more was asked, the limit, what to do. */
export function describeQuotaExceeded(charge: QuotaCharge, used: number): string {
  if (charge.quota === 'MAX_CIRCUITS_PER_VM') {
    return (
      `quota MAX_CIRCUITS_PER_VM exceeded: VM ${charge.holder} has ${used} circuit endpoint(s), this circuit would ` +
      `add ${charge.amount}, and the limit is ${charge.limit}; close one of its circuits (DELETE /circuits/:id) first`
    );
  }
  if (charge.quota === 'VM_RING_BYTES') {
    return (
      `quota VM_RING_BYTES exceeded (cap vmRingBytes): VM ${charge.holder}'s circuits hold ${used} ring bytes, this ` +
      `circuit would add ${charge.amount} (2 rings x capacity.bytes per endpoint at the VM), and the limit is ` +
      `${charge.limit}; close circuits of this VM or ask for a smaller capacity`
    );
  }
  if (charge.quota === 'VM_RING_ENTRIES') {
    return (
      `quota VM_RING_ENTRIES exceeded (cap vmRingEntries): VM ${charge.holder}'s circuits hold ${used} ring ` +
      `entries, this circuit would add ${charge.amount} (capacity.entries of the ring each endpoint at the VM ` +
      `writes), and the limit is ${charge.limit}; close circuits of this VM or ask for fewer entries`
    );
  }
  if (charge.quota === 'TENANT_RING_ENTRIES') {
    return (
      `quota TENANT_RING_ENTRIES exceeded (cap ringEntries): tenant ${charge.holder}'s circuits hold ${used} ring ` +
      `entries, this circuit would add ${charge.amount} (capacity.entries of the ring each endpoint in the tenant ` +
      `writes), and the limit is ${charge.limit}; close circuits of the tenant or ask for fewer entries`
    );
  }
  if (charge.quota === 'TENANT_MAX_CIRCUITS') {
    return (
      `quota TENANT_MAX_CIRCUITS exceeded (cap maxCircuits): tenant ${charge.holder} has ${used} circuit ` +
      `endpoint(s), this circuit would add ${charge.amount}, and the limit is ${charge.limit}; close one of the ` +
      `tenant's circuits first`
    );
  }
  return (
    `quota TENANT_RING_BYTES exceeded (cap ringBytes): tenant ${charge.holder}'s circuits hold ${used} ring bytes, this circuit ` +
    `would add ${charge.amount} (2 rings x capacity.bytes per endpoint in the tenant), and the limit is ` +
    `${charge.limit}; close circuits or ask for a smaller capacity`
  );
}
