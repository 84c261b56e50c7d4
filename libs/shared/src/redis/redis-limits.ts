import { MAX_ENTRY_BYTES } from '../circuit/circuit-descriptor';
import { MAX_RING_ENTRY_BYTES } from '../circuit/ring-entry';
import { MAX_BATCH_ENTRIES } from '../circuit/ring-writer';
import { MAX_FRAME_BYTES } from '../port/port-keys';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The largest single argument (bulk string) a legitimate client sends Redis:
 * - a tenant VM: a circuit ring payload is at most MAX_ENTRY_BYTES (64 KiB; datagrams up to 1 MiB are split into
 *   fragments of that size, circuit-datagram-socket.ts), a vNIC frame at most MAX_FRAME_BYTES (9216), a trace
 *   context field at most 512 characters (W3C `tracestate`);
 * - the trusted services: the allocator's linked pipeline JSON is the largest (one argument of its commit script);
 *   it refuses to commit one over this limit (pipeline.repository.ts), so it can never be cut off mid-command.
 * Redis refuses a proto-max-bulk-len below 1 MiB, so the limit is the larger of that floor and the VM's largest
 * argument: max(1 MiB, 64 KiB, 9216, 512) = 1 MiB (Redis's default is 512 MiB). One argument over it is refused
 * with a protocol error and the connection is closed.
 */
export const REDIS_MAX_BULK_FLOOR_BYTES = 1 * MiB;
export const REDIS_PROTO_MAX_BULK_BYTES = Math.max(REDIS_MAX_BULK_FLOOR_BYTES, MAX_ENTRY_BYTES, MAX_FRAME_BYTES, 512);

/**
 * The most a client may have sent Redis and not yet had parsed (`client-query-buffer-limit`; Redis's default is
 * 1 GiB, its floor 1 MiB). Redis parses a command as soon as it is whole and reads at most 16 KiB beyond it, so the
 * buffer holds one command being read: the largest legitimate one is one argument of up to proto-max-bulk-len (the
 * allocator's pipeline JSON) beside a few small ones (its commit script's text, keys), or a VM's XADD of one
 * fragment (MAX_RING_ENTRY_BYTES, 65 KiB). Twice the bulk limit, 2 MiB, admits every one of them; a client over it
 * is disconnected.
 */
export const REDIS_QUERY_BUFFER_LIMIT_BYTES = 2 * REDIS_PROTO_MAX_BULK_BYTES;

/** Bytes of RESP around one stream entry in a reply beyond its fields' (id, array headers, field names' lengths). */
const REPLY_ENTRY_OVERHEAD = 256;

/**
 * The largest reply a legitimate client waits for: a circuit reader's XREAD of MAX_BATCH_ENTRIES (512) entries of
 * up to MAX_RING_ENTRY_BYTES (65 KiB of payload plus 1 KiB beside it) each, about 33 MiB. Every other read is
 * smaller: a VM's rx read (512 frames of about 10 KiB, 5 MiB), the switch's round (SWITCH_BATCH frames of about
 * 10 KiB: 2.6 MiB at its default 256), the allocator's pipeline (1 MiB at most). A reader has one read outstanding
 * on its connection (ring-reader.ts, port-receiver.ts), so one such reply is what a connection holds at once.
 */
export const REDIS_LARGEST_REPLY_BYTES = MAX_BATCH_ENTRIES * (MAX_RING_ENTRY_BYTES + REPLY_ENTRY_OVERHEAD);

/**
 * `client-output-buffer-limit` for normal clients (Redis's default: none): the largest legitimate reply rounded up
 * to whole MiB, plus 1 MiB for the small replies pipelined beside it (the reader's trim and XLEN), so 34 MiB. A
 * client whose unsent replies pass it (one that pipelines reads and never reads its socket) is disconnected at once
 * (no soft limit), and the buffer freed; other clients are not touched.
 */
export const REDIS_OUTPUT_BUFFER_LIMIT_BYTES = (Math.ceil(REDIS_LARGEST_REPLY_BYTES / MiB) + 1) * MiB;

/**
 * The same for pub/sub clients (Redis's default: 32 MiB hard, 8 MiB for 60 s). Tenant VMs may not subscribe (their
 * ACL has no pub/sub command); the only subscriber is the switch's tx doorbell, which listens to keyspace
 * notifications of XADD (about 90 bytes each) only while idle and stops at the first: 8 MiB is some 90 000
 * notifications it has not read yet.
 */
export const REDIS_PUBSUB_BUFFER_LIMIT_BYTES = 8 * MiB;

/**
 * `maxmemory-clients`: all clients' buffers together (query, output, arguments being read). Past it Redis closes
 * the clients that use most first, so one VM's many connections (each under the limits above) cannot take Redis's
 * memory between them. Eight of the largest legitimate replies at once, 272 MiB.
 */
export const REDIS_CLIENTS_MEMORY_BYTES = 8 * REDIS_OUTPUT_BUFFER_LIMIT_BYTES;

/**
 * Redis's memory limit in every mode unless overridden (local lab: InfraOptions.redisMaxMemory; Docker:
 * REDIS_MAXMEMORY in .env, under the container's mem_limit). Sized for the default lab (2 tenants of 2 VMs): each
 * VM can hold attackerRedisBytesMax (about 260 MB at the default quotas), 1.04 GB for the four, plus every client's
 * buffers (REDIS_CLIENTS_MEMORY_BYTES, 285 MB): 1.3 GB, under 3 GiB (3.2 GB) with room for the services' own keys
 * (docs/redis-rights.md). With `noeviction`, a write that would go over it is refused (OOM error) instead of any
 * key being evicted: nothing a tenant fills can push out another tenant's or the services' keys.
 */
export const REDIS_DEFAULT_MAXMEMORY = '3gb';

/**
 * The redis-server arguments every mode runs with (local processes, test servers, containers): maxmemory with
 * noeviction, and the limits on one argument, one client's unparsed input and its unsent replies (above). `maxmemory` is bytes
 * or a number with kb/mb/gb (redis-server refuses anything else at start, naming it), or a Compose variable.
 */
export function redisLimitArgs(maxmemory: string = REDIS_DEFAULT_MAXMEMORY): string[] {
  return [
    '--maxmemory',
    maxmemory,
    '--maxmemory-policy',
    'noeviction',
    '--proto-max-bulk-len',
    `${REDIS_PROTO_MAX_BULK_BYTES}`,
    '--client-query-buffer-limit',
    `${REDIS_QUERY_BUFFER_LIMIT_BYTES}`,
    '--client-output-buffer-limit',
    `normal ${REDIS_OUTPUT_BUFFER_LIMIT_BYTES} 0 0 pubsub ${REDIS_PUBSUB_BUFFER_LIMIT_BYTES} 0 0`,
    '--maxmemory-clients',
    `${REDIS_CLIENTS_MEMORY_BYTES}`,
  ];
}
