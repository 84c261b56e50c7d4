import { MAX_ENTRY_BYTES } from '../circuit/circuit-descriptor';
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
 * Redis's memory limit when none is given: room for the default lab's rings (each circuit holds at most twice its
 * capacity, 4 MiB per ring by default) and every port's streams, well under the machine. With `noeviction`, a write
 * that would go over it is refused (OOM error) instead of any key being evicted: nothing a tenant fills can push out
 * another tenant's or the services' keys.
 */
export const REDIS_DEFAULT_MAXMEMORY = '512mb';

/**
 * The redis-server arguments every mode runs with (local processes, test servers, containers). `maxmemory` is bytes
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
  ];
}
