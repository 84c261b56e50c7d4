import { DomainError, ValidationError } from '../errors';

/**
 * A reason that came from a peer (an RST payload) is cut to this many characters before it is kept or logged: the
 * peer chooses it, up to a whole ring entry.
 */
export const MAX_RESET_REASON_CHARS = 200;

/** `reason` cut to MAX_RESET_REASON_CHARS, with a mark that it was cut. */
export function boundedReason(reason: string): string {
  return reason.length <= MAX_RESET_REASON_CHARS ? reason : `${reason.slice(0, MAX_RESET_REASON_CHARS)}… (cut)`;
}

/** The peer aborted the circuit (RST), or it crashed and the operator reset it. */
export class CircuitResetError extends DomainError {
  constructor(circuitId: string, reason: string) {
    super('CIRCUIT_RESET', `circuit ${circuitId} was reset: ${boundedReason(reason)}`);
  }
}

/**
 * The peer wrote what the protocol does not allow (an entry over the fragment limit, a datagram over its maximum):
 * this side resets the circuit, telling the peer why, rather than buffer without bound.
 */
export class CircuitProtocolError extends DomainError {
  constructor(circuitId: string, violation: string) {
    super('CIRCUIT_PROTOCOL_VIOLATION', `circuit ${circuitId} was reset: the peer broke the protocol: ${violation}`);
  }
}

/**
 * The circuit's keys or this VM's grant on them are gone: the operator tore it down (peer lease expired, peer or
 * admin closed it). Nothing written after this point arrives.
 */
export class CircuitTornDownError extends DomainError {
  constructor(circuitId: string, detail: string, options: { cause?: unknown } = {}) {
    super('CIRCUIT_TORN_DOWN', `circuit ${circuitId} is gone (${detail}); open a new one`, options);
  }
}

/** A write after this side closed the circuit. */
export class CircuitClosedError extends DomainError {
  constructor(circuitId: string) {
    super('CIRCUIT_CLOSED', `circuit ${circuitId} is closed on this side; nothing more can be sent on it`);
  }
}

export class DatagramTooLargeError extends ValidationError {
  constructor(size: number, max: number) {
    super(
      `datagram of ${size} bytes is larger than this circuit's maximum of ${max} bytes; split it or use stream mode`,
      [`datagram: ${size} > ${max} bytes`],
    );
  }
}

/** Redis answers NOPERM once the operator revoked this VM's grant on the circuit: that is a teardown, not a bug. */
export function toCircuitError(circuitId: string, error: unknown): Error {
  if (error instanceof DomainError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('NOPERM')) {
    return new CircuitTornDownError(circuitId, 'this VM no longer holds a grant on it', { cause: error });
  }
  return error instanceof Error ? error : new Error(message);
}
