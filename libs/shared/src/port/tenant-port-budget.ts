import { PORT_CAPACITY_BYTES, PORT_CAPACITY_FRAMES, PORT_TX_MEMORY_BYTES } from './port-keys';

/** What one port's streams may hold in Redis: its tx in memory, its rx in frames and bytes of frames. */
export interface PortBounds {
  /** The most Redis memory its tx stream may take (MEMORY USAGE); the newest entries beyond it are dropped unread. */
  txMemoryBytes: number;
  /** The most frames the switch lets wait in its rx stream; more are dropped as `rx-full`. */
  rxFrames: number;
  /** The most bytes of frames the switch lets wait in its rx stream; more are dropped as `rx-full`. */
  rxBytes: number;
}

/** A port's bounds when its tenant has no more than TENANT_FULL_PORTS ports. */
export const PORT_BOUNDS: Readonly<PortBounds> = Object.freeze({
  txMemoryBytes: PORT_TX_MEMORY_BYTES,
  rxFrames: PORT_CAPACITY_FRAMES,
  rxBytes: PORT_CAPACITY_BYTES,
});

/** Ports of one tenant that each get PORT_BOUNDS in full under the default budgets: the default lab has two. */
export const TENANT_FULL_PORTS = 4;

/** The default budget of each tenant, all its ports together: TENANT_FULL_PORTS ports' worth. */
export const TENANT_PORT_BUDGETS: Readonly<PortBounds> = Object.freeze({
  txMemoryBytes: TENANT_FULL_PORTS * PORT_TX_MEMORY_BYTES,
  rxFrames: TENANT_FULL_PORTS * PORT_CAPACITY_FRAMES,
  rxBytes: TENANT_FULL_PORTS * PORT_CAPACITY_BYTES,
});
