import type { CircuitSide } from './circuit-keys';

/**
 * `stream`: an ordered byte stream (a Node Duplex), like TCP. `datagram`: message boundaries kept, like UDP but
 * reliable and ordered.
 */
export type CircuitMode = 'stream' | 'datagram';

export const CIRCUIT_MODES: readonly CircuitMode[] = ['stream', 'datagram'];

/** How far a writer may run ahead of its reader's acknowledged position, per ring. */
export interface RingCapacity {
  entries: number;
  bytes: number;
}

/** Entries carry at most this many payload bytes; longer writes are split and rejoined. */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** The largest datagram a circuit carries (also never more than its ring's byte capacity). */
export const MAX_DATAGRAM_BYTES = 1024 * 1024;

export const DEFAULT_RING_CAPACITY: Readonly<RingCapacity> = Object.freeze({ entries: 4096, bytes: 4 * 1024 * 1024 });

export interface CircuitEndpointInfo {
  vm: string;
  tenant: string;
}

/** What the operator tells each end of a new circuit: everything it needs to open its side. */
export interface CircuitDescriptor {
  id: string;
  mode: CircuitMode;
  /** This end's side: `a` connected, `b` listened. */
  side: CircuitSide;
  /** The service name the listener registered (for example `db:5432`). */
  service: string;
  capacity: RingCapacity;
  local: CircuitEndpointInfo;
  peer: CircuitEndpointInfo;
}

/** The largest datagram this circuit can carry: a datagram must fit in its ring at once. */
export function maxDatagramBytes(capacity: RingCapacity): number {
  return Math.min(MAX_DATAGRAM_BYTES, capacity.bytes);
}
