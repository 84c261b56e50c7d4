import type { CircuitDescriptor } from './circuit-descriptor';

/**
 * Messages the operator writes to a VM's control inbox stream (`VM_KEYS.inbox`), JSON in the entry field
 * `INBOX_MESSAGE_FIELD`, next to the W3C trace context fields of the request that caused them.
 */
export type InboxMessage =
  /** Someone connected to a service this VM listens on; the descriptor is this (listening) side's. */
  | { type: 'circuit.incoming'; circuit: CircuitDescriptor }
  /** The operator tore a circuit down (peer's lease expired, peer closed, quota, admin); its keys are gone. */
  | { type: 'circuit.closed'; circuitId: string; reason: string };

export const INBOX_MESSAGE_FIELD = 'msg';

/**
 * The operator keeps at most about this many messages in an inbox (XADD MAXLEN ~): a VM that stops reading must not
 * grow Redis without bound.
 */
export const INBOX_MAX_ENTRIES = 1000;
