import type { CircuitDescriptor, CircuitEndpointInfo, CircuitMode, CircuitSide, RingCapacity } from '@tenantlab/shared';

/**
 * `opening` until both endpoints hold their grants and the listener was told; `closing` once teardown began (the
 * record stays until teardown finishes, so an interrupted one is finished by the reaper).
 */
export type CircuitState = 'opening' | 'open' | 'closing';

/** What the operator stores about one circuit. Side `a` connected, side `b` listened. */
export interface CircuitRecord {
  id: string;
  mode: CircuitMode;
  service: string;
  capacity: RingCapacity;
  a: CircuitEndpointInfo;
  b: CircuitEndpointInfo;
  createdAt: number;
  state: CircuitState;
  /** Why it is closing (the first teardown's reason). */
  closeReason?: string;
}

/** A VM that listens on a service in its tenant. */
export interface Listener {
  vm: string;
  tenant: string;
  service: string;
}

/** The descriptor one side opens its end with. */
export function describeCircuit(record: CircuitRecord, side: CircuitSide): CircuitDescriptor {
  return {
    id: record.id,
    mode: record.mode,
    side,
    service: record.service,
    capacity: { ...record.capacity },
    local: { ...(side === 'a' ? record.a : record.b) },
    peer: { ...(side === 'a' ? record.b : record.a) },
  };
}

/** The endpoint VMs, once each (a VM may connect to its own listener). */
export function endpointVms(record: Pick<CircuitRecord, 'a' | 'b'>): string[] {
  return record.a.vm === record.b.vm ? [record.a.vm] : [record.a.vm, record.b.vm];
}
