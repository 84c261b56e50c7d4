import type { CircuitEndpointInfo, RingCapacity } from '@tenantlab/shared';

export type QuotaName = 'MAX_CIRCUITS_PER_VM' | 'TENANT_RING_BYTES';

export interface QuotaLimits {
  MAX_CIRCUITS_PER_VM: number;
  TENANT_RING_BYTES: number;
}

/** What one circuit takes from one quota holder (a VM or a tenant). */
export interface QuotaCharge {
  quota: QuotaName;
  /** The VM (MAX_CIRCUITS_PER_VM) or tenant (TENANT_RING_BYTES) the amount is counted against. */
  holder: string;
  amount: number;
  limit: number;
}

/**
 * What a circuit costs, counted per endpoint: each endpoint takes one of its VM's circuit slots, and charges its
 * tenant for both rings (2 × capacity.bytes), the memory the circuit may hold in Redis. So a circuit inside one
 * tenant counts twice against that tenant, and one to itself twice against its VM. Charges to the same holder
 * are merged, so a limit is checked against the whole amount.
 */
export function circuitCharges(
  circuit: { a: CircuitEndpointInfo; b: CircuitEndpointInfo; capacity: RingCapacity },
  limits: QuotaLimits,
): QuotaCharge[] {
  const charges = new Map<string, QuotaCharge>();
  const add = (quota: QuotaName, holder: string, amount: number): void => {
    const key = `${quota}:${holder}`;
    const charge = charges.get(key) ?? { quota, holder, amount: 0, limit: limits[quota] };
    charge.amount += amount;
    charges.set(key, charge);
  };
  for (const endpoint of [circuit.a, circuit.b]) {
    add('MAX_CIRCUITS_PER_VM', endpoint.vm, 1);
    add('TENANT_RING_BYTES', endpoint.tenant, 2 * circuit.capacity.bytes);
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
  return (
    `quota TENANT_RING_BYTES exceeded: tenant ${charge.holder}'s circuits hold ${used} ring bytes, this circuit ` +
    `would add ${charge.amount} (2 rings x capacity.bytes per endpoint in the tenant), and the limit is ` +
    `${charge.limit}; close circuits or ask for a smaller capacity`
  );
}
