import { DomainError, ValidationError } from '../errors';

/** The peer aborted the circuit (RST), or it crashed and the operator reset it. */
export class CircuitResetError extends DomainError {
  constructor(circuitId: string, reason: string) {
    super('CIRCUIT_RESET', `circuit ${circuitId} was reset: ${reason}`);
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
