/**
 * A tenant VM's vNIC on the legacy packet path: a pair of Redis streams. The VM writes frames to `tx`, the switch
 * reads them (consumer group `SWITCH_CONSUMER_GROUP`) and writes what it forwards to the destination VM's `rx`. Both
 * share the VM's hash tag; only that VM's ACL user (and the switch, as admin) can reach them.
 */
export const PORT_KEYS = {
  /** Stream, VM -> switch. */
  tx: (vmId: string): string => `port:{${vmId}}:tx`,
  /** Stream, switch -> VM. */
  rx: (vmId: string): string => `port:{${vmId}}:rx`,
} as const;

/**
 * Fields of a port stream entry: either one frame (`f`) with the W3C trace context fields of whoever sent it
 * (`otel.*`), or several frames packed (`m`, see port-frames.ts), each with its own traceparent. `t`, optional:
 * when the writer sent the entry (µs since the epoch), from which readers measure the time a frame spent in Redis.
 */
export const PORT_ENTRY_FIELDS = { frame: 'f', frames: 'm', sentAt: 't' } as const;

/** The switch's consumer group on every tx stream, so a restarted switch resumes where it stopped. */
export const SWITCH_CONSUMER_GROUP = 'switch';

/**
 * How many frames may wait in one port stream. A VM sending faster than the switch reads waits (its tx is full);
 * the switch drops and counts what a VM does not read fast enough (its rx is full), as a NIC ring does.
 */
export const PORT_CAPACITY_FRAMES = 8192;

/**
 * How many bytes of frames may wait in one port stream, besides PORT_CAPACITY_FRAMES: with several frames per entry
 * a stream's entry count no longer bounds its frames, so writers count both (issue 11).
 */
export const PORT_CAPACITY_BYTES = 16 * 1024 * 1024;

/** Largest frame the packet path carries (a jumbo frame with room for a VLAN tag); larger ones are rejected. */
export const MAX_FRAME_BYTES = 9216;

/**
 * Bytes a port stream entry may carry besides its frames: field names, the `t` stamp, a packed frame's record header
 * and traceparent, or a lone frame's whole trace context (W3C caps tracestate at 512 bytes).
 */
export const PORT_ENTRY_META_BYTES = 1024;

/**
 * The most Redis memory a VM's tx stream may take (as `MEMORY USAGE ... SAMPLES 0` counts it: its entries, radix tree
 * and the switch's pending list), enforced by the switch on a VM that writes straight to its stream (issue 10):
 * without it a VM could hold PORT_CAPACITY_FRAMES entries of a jumbo frame each, about 100 MiB. A vNIC never reaches
 * it: it keeps tx to PORT_CAPACITY_FRAMES frames and PORT_CAPACITY_BYTES bytes of frames, each entry with at most
 * PORT_ENTRY_META_BYTES besides its frames, which takes at most 35 MiB even with every entry pending (measured:
 * tx-read.int.spec.ts).
 */
export const PORT_TX_MEMORY_BYTES = 40 * 1024 * 1024;

/** VLAN ids the operator gives tenants: 802.1Q's usable range (0 and 4095 are reserved). */
export const TENANT_VLAN_RANGE = { min: 1, max: 4094 } as const;
