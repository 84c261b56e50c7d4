import { CircuitProtocolError, CircuitResetError } from '@tenantlab/shared';

/** The code a circuit the operator's ring warden reset is counted under. */
export const WARDEN_RESET_CODE = 'CIRCUIT_RING_OVER_CAPACITY';

/** How the operator's ring warden starts its reasons (services/operator/src/wardens/ring-warden.service.ts). */
export const WARDEN_REASON_PREFIX = 'ring warden:';

/** Circuits of this VM reset by a side, counted by why: the peer broke the protocol, or the peer reset it. */
export interface CircuitResetCount {
  count: number;
  /** The last such reset's message (the reasons are bounded where they are made: circuit.errors.ts). */
  lastReason: string;
}

/**
 * Counts the circuits of this VM that ended in a reset, by error code: `CIRCUIT_PROTOCOL_VIOLATION` when this side
 * reset because the peer broke the protocol (an oversized entry or datagram, a ring over its capacity: a writer
 * ignoring its credit), `CIRCUIT_RESET` when the peer reset. Other failures (teardowns, closes) are not resets.
 */
export class CircuitResets {
  private readonly counts = new Map<string, CircuitResetCount>();

  /** Counts `error` if it is a reset; returns whether it was. */
  record(error: Error): boolean {
    if (!(error instanceof CircuitProtocolError) && !(error instanceof CircuitResetError)) return false;
    const entry = this.counts.get(error.code) ?? { count: 0, lastReason: '' };
    entry.count += 1;
    entry.lastReason = error.message;
    this.counts.set(error.code, entry);
    return true;
  }

  /**
   * Counts a circuit the operator's ring warden reset (its ring was over its capacity: both ends broke the protocol),
   * under `CIRCUIT_RING_OVER_CAPACITY`, with the reason the operator gave.
   */
  recordWardenReset(reason: string): void {
    const entry = this.counts.get(WARDEN_RESET_CODE) ?? { count: 0, lastReason: '' };
    entry.count += 1;
    entry.lastReason = reason.slice(0, 400);
    this.counts.set(WARDEN_RESET_CODE, entry);
  }

  snapshot(): Record<string, CircuitResetCount> {
    return Object.fromEntries([...this.counts].map(([code, entry]) => [code, { ...entry }]));
  }
}
