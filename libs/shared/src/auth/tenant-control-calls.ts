/**
 * What one tenant may ask the trusted services for through the operator (its program, table entries, registers,
 * counters, ports, telemetry): every such call becomes a request the switch, the allocator or telemetry must answer,
 * and the switch answers on the event loop that also moves every tenant's frames. The operator's defaults
 * (TENANT_CONTROL_CALLS_PER_SECOND, TENANT_CONTROL_CALLS_BURST, TENANT_CONTROL_CALLS_IN_FLIGHT), shared so that
 * tests and the README state the same figures.
 */
export const TENANT_CONTROL_CALLS_PER_SECOND = 100;
/** Calls a tenant may make at once after a quiet spell, on top of its rate (a token bucket's depth). */
export const TENANT_CONTROL_CALLS_BURST = 100;
/** Calls of one tenant being answered at once; more are refused, not queued. */
export const TENANT_CONTROL_CALLS_IN_FLIGHT = 8;

/**
 * The operator's own work for one tenant (circuits, listeners, the registry): calls of one tenant it answers at once
 * (TENANT_OPERATOR_CALLS_IN_FLIGHT); the rest wait their turn, up to TENANT_OPERATOR_CALLS_WAITING, past which they
 * are refused.
 */
export const TENANT_OPERATOR_CALLS_IN_FLIGHT = 2;
/** Calls of one tenant that may wait for the operator; a VM's whole lab of concurrent workloads fits. */
export const TENANT_OPERATOR_CALLS_WAITING = 256;
