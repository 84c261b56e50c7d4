import { type Context, context } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { injectTraceIntoStreamFields } from '../trace-context';
import type { CircuitDescriptor } from './circuit-descriptor';
import { inboundRing, outboundRing } from './circuit-keys';
import { RingReader, type RingReaderHandlers } from './ring-reader';
import { RingWriter } from './ring-writer';

/**
 * The Redis connections a VM's circuits use, all authenticated as the VM's own ACL user: one shared connection for
 * writes (pipelines from many circuits interleave on it), and a dedicated one per circuit for its blocking reads.
 */
export interface CircuitConnections {
  commands: Redis;
  /** A new connection for one circuit's reader; the reader closes it when the circuit ends. */
  openBlocking(): Redis;
}

export interface VmRedisCredentials {
  username: string;
  password: string;
}

/**
 * Connections as a VM's ACL user. The ready check is off because it runs INFO, which a VM user may not run; the
 * commands it may run are in VM_ACL_COMMANDS.
 */
export function vmCircuitConnections(url: string, credentials: VmRedisCredentials, name: string): CircuitConnections {
  const connect = (role: string): Redis => {
    const client = new Redis(url, { ...credentials, enableReadyCheck: false, connectionName: `${name}:${role}` });
    // ioredis emits an error per failed reconnect attempt, and prints each to stderr when nobody listens: the commands
    // that fail say what went wrong, where the VM logs them (its vNIC, its inbox, its circuits).
    client.on('error', () => undefined);
    return client;
  };
  return { commands: connect('commands'), openBlocking: () => connect('reader') };
}

export interface CircuitRings {
  writer: RingWriter;
  reader: RingReader;
}

/** A circuit end's payload bytes so far, each way. */
export interface CircuitTraffic {
  sentBytes: number;
  receivedBytes: number;
}

export function trafficOf(rings: CircuitRings): CircuitTraffic {
  return { sentBytes: rings.writer.bytesWritten(), receivedBytes: rings.reader.bytesRead() };
}

/**
 * Entries per round trip of one circuit end, each 1 to MAX_BATCH_ENTRIES (the default): what its writer sends in one
 * pipeline and what its reader takes in one read. Lower only to compare at a given batch size (the switch benchmark
 * runs circuits and the packet path at the same one).
 */
export interface CircuitBatchLimits {
  readonly writeEntries?: number;
  readonly readEntries?: number;
}

/** This side's writer (outbound ring) and reader (inbound ring) of a circuit. The reader starts when asked. */
export function openCircuitRings(
  descriptor: CircuitDescriptor,
  connections: CircuitConnections,
  handlers: RingReaderHandlers,
  limits: CircuitBatchLimits = {},
): CircuitRings {
  const { id, side, capacity } = descriptor;
  return {
    writer: new RingWriter(connections.commands, id, outboundRing(side), capacity, limits.writeEntries),
    reader: new RingReader(connections.openBlocking(), id, inboundRing(side), capacity, handlers, limits.readEntries),
  };
}

const NO_TRACE: readonly string[] = [];

/** The last context activeTraceFields saw and its fields: a context is immutable, so its fields never change. */
let lastContext: Context | undefined;
let lastFields: readonly string[] = NO_TRACE;

/**
 * The active W3C trace context as flat stream entry fields, so the entry carries the trace of the write. Sends from
 * one context (a burst from one request, or all of them outside any) share one frozen array, worked out once.
 */
export function activeTraceFields(): readonly string[] {
  const active = context.active();
  if (active === lastContext) return lastFields;
  const fields = injectTraceIntoStreamFields({}, active);
  const keys = Object.keys(fields);
  lastContext = active;
  lastFields = keys.length === 0 ? NO_TRACE : Object.freeze(keys.flatMap((key) => [key, fields[key]]));
  return lastFields;
}
