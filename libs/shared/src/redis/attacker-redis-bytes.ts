import { MAX_ENTRY_BYTES } from '../circuit/circuit-descriptor';
import { INBOX_MAX_ENTRIES } from '../circuit/inbox-message';
import { MAX_RING_ENTRY_BYTES } from '../circuit/ring-entry';
import {
  PORT_CAPACITY_BYTES,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_META_BYTES,
  PORT_TX_MEMORY_BYTES,
} from '../port/port-keys';
import { type PortBounds, TENANT_PORT_BUDGETS } from '../port/tenant-port-budget';

/**
 * What one VM's rings may hold, from the operator's quotas (its config and the circuit DTO's limits).
 */
export interface AttackerRingLimits {
  /** Circuit endpoints one VM may hold: MAX_CIRCUITS_PER_VM (default 64). */
  circuits: number;
  /** Entries of one ring's capacity at most: the operator's MAX_RING_ENTRIES (65536). */
  entriesPerRing: number;
  /**
   * Entries of all the VM's outbound rings together: VM_RING_ENTRIES (default 65536), which charges capacity.entries
   * per circuit endpoint, the ring that endpoint writes.
   */
  ringEntries: number;
  /**
   * Payload bytes of all the VM's outbound rings together. Each circuit endpoint counts 2 × capacity.bytes against
   * the ring quotas, and the VM writes one ring per endpoint, so this is half the quota one VM can take: VM_RING_BYTES
   * (default 128 MiB, under TENANT_RING_BYTES' 256 MiB), so 64 MiB.
   */
  ringPayloadBytes: number;
}

/** The lab operator's defaults (operator.config.ts, create-circuit.dto.ts). */
export const DEFAULT_ATTACKER_RING_LIMITS: Readonly<AttackerRingLimits> = Object.freeze({
  circuits: 64,
  entriesPerRing: 65_536,
  ringEntries: 65_536,
  ringPayloadBytes: 134_217_728 / 2,
});

/** jemalloc's size classes are four per doubling, so an allocation rounds up by less than a quarter. */
const ALLOCATOR_FACTOR = 1.25;
/** A stream entry's own bytes beyond its fields' (listpack entry header, id deltas, field count, back-lengths). */
const STREAM_ENTRY_OVERHEAD = 64;
/** A stream node (radix tree node plus listpack header); an entry over stream-node-max-bytes (4 KiB) gets its own. */
const STREAM_NODE_OVERHEAD = 128;
/** A stream key: the key, its object, stream struct and dict entry, and a consumer group with one consumer. */
const STREAM_KEY_BYTES = 2048;
/** Non-payload bytes a reader accepts in one entry: kind, field names and the trace context (ring-entry.ts). */
const ENTRY_META_BYTES = MAX_RING_ENTRY_BYTES - MAX_ENTRY_BYTES;
/** One inbox message: JSON of a circuit descriptor or a close reason, with trace context (operator-written). */
export const INBOX_MESSAGE_MAX_BYTES = 2048;
/** XADD MAXLEN ~ trims whole stream nodes only, so a stream may hold up to one node (100 entries) more. */
const APPROXIMATE_TRIM_SLACK = 100;
/** A circuit's control hash (operator-written, fixed fields) and the VM's ACL user, per key it names. */
const CONTROL_HASH_BYTES = 1024;
const ACL_BYTES_PER_KEY = 256;

/** Bytes Redis allocates for `count` stream entries of `fieldBytes` each (fields and values together). */
function streamEntries(count: number, fieldBytes: number): number {
  return count * (Math.ceil(ALLOCATOR_FACTOR * (fieldBytes + STREAM_ENTRY_OVERHEAD)) + STREAM_NODE_OVERHEAD);
}

/** Entries a ring may hold beyond its capacity: FIN and RST, which a writer may send without credit. */
export const RING_ENTRIES_SLACK = 2;

/**
 * The most Redis memory one ring whose writer keeps to its credit can take: capacity.entries (+ FIN and RST) entries
 * of at most META non-payload bytes each, capacity.bytes of payload in all, and its key; the same terms as `rings`
 * in attackerRedisBytesMax, for one ring. The operator's ring warden resets a circuit whose ring is over it (or over
 * capacity.entries + RING_ENTRIES_SLACK entries), whoever holds its ends.
 */
export function ringBytesMax(capacity: { entries: number; bytes: number }): number {
  return (
    streamEntries(capacity.entries + RING_ENTRIES_SLACK, ENTRY_META_BYTES) +
    Math.ceil(ALLOCATOR_FACTOR * capacity.bytes) +
    STREAM_KEY_BYTES
  );
}

/**
 * attacker_redis_bytes_max: the most Redis memory one tenant VM can hold with everything its ACL allows (vm-acl.ts:
 * XADD to its tx and its outbound rings; everything else it may touch is written by the switch or the operator, up
 * to their caps), so long as every stream is kept to its cap (see "Holds while" below):
 *
 *   B = tx + rx + inbox + rings + control
 *   tx      = T + K                                       the switch's tx bound in memory, T = PORT_TX_MEMORY_BYTES
 *                                                         (40 MiB, MEMORY USAGE of the stream, pending list included)
 *   rx      = A × (C + F × (PM + O)) + F × N + K          the switch delivers at most F = PORT_CAPACITY_FRAMES frames
 *                                                         and C = PORT_CAPACITY_BYTES of them to a VM's rx, each entry
 *                                                         with at most PM = PORT_ENTRY_META_BYTES beside its frames
 *   inbox   = (I + 100) × e(M) + K                        operator's MAXLEN ~ I = INBOX_MAX_ENTRIES (1000)
 *   rings   = (min(R, C × E) + 2C) × e(META)             R entries in all (at most E per ring), plus FIN and RST
 *             + A × P + C × K                             per circuit, of at most META non-payload bytes each, and
 *                                                         P payload bytes in all
 *   control = C × H + (3 + 3C) × U                        control hashes, and the ACL user's key names
 *   e(n)    = A × (n + O) + N                             one stream entry of n field bytes
 *
 * with META = MAX_RING_ENTRY_BYTES − MAX_ENTRY_BYTES (1024: what a reader accepts beside the payload), M =
 * INBOX_MESSAGE_MAX_BYTES, A = 1.25 (jemalloc rounding), O = 64 and N = 128 (entry and node overhead), K = 2048 (a
 * stream key), H = 1024, U = 256; C, E, R and P in `rings` are the operator's quotas (AttackerRingLimits). With the
 * lab's defaults B is about 260 MB (see docs/redis-rights.md): under every mode's maxmemory (3gb), which is sized for
 * the default lab's four VMs.
 *
 * Holds while: the switch keeps tx to T (checked every few rounds, see MEMORY_CHECK_EVERY in the switch's port-io.ts)
 * and F entries and refuses entries over the frame limit (the fairness work), and
 * rings are kept to their capacity. A VM's XADD cannot be limited by its ACL (arguments are not expressible), so a
 * VM that ignores its credit can write past its ring's capacity; its peer's reader then resets the circuit (ring-
 * reader.ts checks the ring's length, and the payload it reads, against the capacity on every read) and the ring is
 * deleted with it. Between two reads the ring can overshoot by what the writer adds in one round trip; and a VM
 * holding both ends of a circuit (to itself, or two VMs of one attacker) is not checked by a reader, so for it the
 * operator's ring warden bounds its rings, up to wardenOvershootBytes (below). Client buffers of the VM's
 * connections (query and output buffers, bounded per connection and for all clients by redis-limits.ts) are not in
 * B either.
 */
export function attackerRedisBytesMax(limits: AttackerRingLimits = DEFAULT_ATTACKER_RING_LIMITS): number {
  const tx = PORT_TX_MEMORY_BYTES + STREAM_KEY_BYTES;
  const rx =
    Math.ceil(
      ALLOCATOR_FACTOR * (PORT_CAPACITY_BYTES + PORT_CAPACITY_FRAMES * (PORT_ENTRY_META_BYTES + STREAM_ENTRY_OVERHEAD)),
    ) +
    PORT_CAPACITY_FRAMES * STREAM_NODE_OVERHEAD +
    STREAM_KEY_BYTES;
  const inbox = streamEntries(INBOX_MAX_ENTRIES + APPROXIMATE_TRIM_SLACK, INBOX_MESSAGE_MAX_BYTES);
  const rings =
    streamEntries(
      Math.min(limits.ringEntries, limits.circuits * limits.entriesPerRing) + 2 * limits.circuits,
      ENTRY_META_BYTES,
    ) +
    Math.ceil(ALLOCATOR_FACTOR * limits.ringPayloadBytes) +
    limits.circuits * STREAM_KEY_BYTES;
  const control = limits.circuits * CONTROL_HASH_BYTES + (3 + 3 * limits.circuits) * ACL_BYTES_PER_KEY;
  return tx + rx + inbox + rings + control + STREAM_KEY_BYTES;
}

/**
 * What one VM can add to its rings beyond attackerRedisBytesMax when it holds both ends of circuits (their readers
 * never trim, their writers ignore credit): only the operator's ring warden (services/operator/src/wardens) bounds
 * those rings, and it sees each ring once a tick. Between two of its looks a ring grows by what Redis takes in that
 * time, so the bound is Redis's write rate `writeBytesPerSecond` (an assumption: Redis is single-threaded, and one
 * client's XADDs take at most what all clients' do) over two ticks (the tick that just missed the ring, then the
 * one that resets it: WARDEN_INTERVAL_MS plus a pass, at most another interval). Its connections' buffers are
 * bounded by Redis for all clients together (maxmemory-clients, redis-limits.ts), not per VM.
 */
export function wardenOvershootBytes(writeBytesPerSecond: number, wardenIntervalMs: number): number {
  return Math.ceil((writeBytesPerSecond * 2 * wardenIntervalMs) / 1000);
}

/** What all of one tenant's VMs may hold together, from the operator's tenant caps and the switch's tenant budgets. */
export interface AttackerTenantLimits {
  /** VMs of the tenant with a live lease at once: TENANT_MAX_VMS (default 64), cap maxVms. */
  vms: number;
  /** Circuit endpoints in the tenant: TENANT_MAX_CIRCUITS (default 1024), cap maxCircuits. */
  circuits: number;
  /** Ring entries of all the tenant's circuits: TENANT_RING_ENTRIES (default 131072), cap ringEntries. */
  ringEntries: number;
  /** Ring payload of all of them: half of TENANT_RING_BYTES (256 MiB), as for one VM (AttackerRingLimits). */
  ringPayloadBytes: number;
  /** The switch's budget for all the tenant's ports: TENANT_TX_MEMORY_BYTES, TENANT_RX_FRAMES, TENANT_RX_BYTES. */
  ports: Readonly<PortBounds>;
}

/** The operator's and the switch's defaults (operator.config.ts, switch.config.ts). */
export const DEFAULT_ATTACKER_TENANT_LIMITS: Readonly<AttackerTenantLimits> = Object.freeze({
  vms: 64,
  circuits: 1024,
  ringEntries: 131_072,
  ringPayloadBytes: 268_435_456 / 2,
  ports: TENANT_PORT_BUDGETS,
});

/**
 * attacker_tenant_redis_bytes_max: the most Redis memory one tenant can hold with all its VMs together, each doing
 * everything its ACL allows (as attackerRedisBytesMax for one VM), so long as every stream is kept to its cap:
 *
 *   BT      = tx + rx + inboxes + rings + control
 *   tx      = TT + V × K                                  the switch keeps each port's tx to its share of the
 *                                                         tenant's TT = TENANT_TX_MEMORY_BYTES (tenant-port-shares.ts)
 *   rx      = A × (CT + FT × (PM + O)) + FT × N + V × K   and delivers at most FT = TENANT_RX_FRAMES frames and
 *                                                         CT = TENANT_RX_BYTES of them to all its VMs' rx together
 *   inboxes = V × ((I + 100) × e(M) + K)                  one inbox per VM, at its cap
 *   rings   = (RT + 2C) × e(META) + A × PT + C × K        RT = TENANT_RING_ENTRIES entries, PT payload bytes and
 *                                                         C = TENANT_MAX_CIRCUITS endpoints of the tenant in all
 *   control = C × H + (3V + 3C) × U
 *
 * with V = the tenant's maxVms and the other letters as in attackerRedisBytesMax. Only the inboxes and a few keys per
 * VM grow with V: a tenant's VM count no longer multiplies its ports' streams or its rings (before the tenant budgets,
 * a tenant at 64 VMs could hold 64 × attackerRedisBytesMax, 16.6 GB). Holds while the same as attackerRedisBytesMax
 * holds, and the ring warden's overshoot (wardenOvershootBytes) is on top, shared by all.
 */
export function attackerTenantRedisBytesMax(
  limits: Readonly<AttackerTenantLimits> = DEFAULT_ATTACKER_TENANT_LIMITS,
): number {
  const keys = limits.vms * STREAM_KEY_BYTES;
  const tx = limits.ports.txMemoryBytes + keys;
  const rx =
    Math.ceil(
      ALLOCATOR_FACTOR *
        (limits.ports.rxBytes + limits.ports.rxFrames * (PORT_ENTRY_META_BYTES + STREAM_ENTRY_OVERHEAD)),
    ) +
    limits.ports.rxFrames * STREAM_NODE_OVERHEAD +
    keys;
  const inboxes =
    limits.vms *
    (streamEntries(INBOX_MAX_ENTRIES + APPROXIMATE_TRIM_SLACK, INBOX_MESSAGE_MAX_BYTES) + STREAM_KEY_BYTES);
  const rings =
    streamEntries(limits.ringEntries + 2 * limits.circuits, ENTRY_META_BYTES) +
    Math.ceil(ALLOCATOR_FACTOR * limits.ringPayloadBytes) +
    limits.circuits * STREAM_KEY_BYTES;
  const control = limits.circuits * CONTROL_HASH_BYTES + (3 * limits.vms + 3 * limits.circuits) * ACL_BYTES_PER_KEY;
  return tx + rx + inboxes + rings + control;
}
