/**
 * Redis key schema of circuits (seed 001: a control area plus two rings per connection). Every key of one circuit
 * shares the hash tag `{id}`, so a circuit lives in one slot and the same code runs on Redis Cluster. A VM's ACL
 * names each key exactly (vm-acl.ts).
 */
export type RingDirection = 'a2b' | 'b2a';

/** Side `a` is the connecting VM, side `b` the listening one. */
export type CircuitSide = 'a' | 'b';

export const CIRCUIT_KEYS = {
  /** Hash: the control area (mode, capacity, endpoints, each reader's acknowledged position, state). */
  control: (circuitId: string): string => `circuit:{${circuitId}}:ctl`,
  /** Stream: one ring, written by one side and read by the other. */
  ring: (circuitId: string, direction: RingDirection): string => `circuit:{${circuitId}}:${direction}`,
} as const;

/** Keys private to one VM: its control inbox, where the operator announces circuits and teardowns. */
export const VM_KEYS = {
  inbox: (vmId: string): string => `vm:{${vmId}}:inbox`,
} as const;

/** The direction a side writes to, and the one it reads from. */
export function outboundRing(side: CircuitSide): RingDirection {
  return side === 'a' ? 'a2b' : 'b2a';
}

export function inboundRing(side: CircuitSide): RingDirection {
  return side === 'a' ? 'b2a' : 'a2b';
}

/**
 * Fields of the control hash, which VMs may only read. There is no acknowledged position in it: a reader
 * acknowledges by trimming what it consumed from its ring, and the writer derives its credit from the ring's length
 * (ring-writer.ts), so a VM writes nothing but ring entries.
 */
export const CONTROL_FIELDS = {
  mode: 'mode',
  capacityEntries: 'cap.entries',
  capacityBytes: 'cap.bytes',
  vmA: 'a.vm',
  vmB: 'b.vm',
} as const;
