/**
 * Redis key schema of circuits (seed 001: a control area plus two rings per connection). Every key of one circuit
 * shares the hash tag `{id}`, so a circuit lives in one slot and the same code runs on Redis Cluster; one ACL
 * pattern (`circuitKeyPattern`) grants exactly one circuit.
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

/** The ACL key pattern that covers every key of one circuit and nothing else (ids never contain `*`, `?` or `[`). */
export function circuitKeyPattern(circuitId: string): string {
  return `circuit:{${circuitId}}:*`;
}

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

/** Fields of the control hash. Acknowledged positions are cumulative counts since the circuit opened. */
export const CONTROL_FIELDS = {
  mode: 'mode',
  capacityEntries: 'cap.entries',
  capacityBytes: 'cap.bytes',
  vmA: 'a.vm',
  vmB: 'b.vm',
  /** Entries and payload bytes of a ring its reader has consumed (and trimmed). */
  ackEntries: (direction: RingDirection): string => `${direction}.ack.entries`,
  ackBytes: (direction: RingDirection): string => `${direction}.ack.bytes`,
} as const;
