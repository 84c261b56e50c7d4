import type { SchemaObject } from '@nestjs/swagger';
import { MAX_IMPAIRMENT_DELAY_MS, MAX_IMPAIRMENT_RATE_FPS } from '../port/impairment-spec';
import { strictObject } from './openapi';

// Response bodies that more than one service answers (the operator passes the allocator's and the switch's on).

const integer: SchemaObject = { type: 'integer' };
const text: SchemaObject = { type: 'string' };

/** A program's page table: register name to its slice of a stage's memory. */
export const PAGE_TABLE_SCHEMA: SchemaObject = {
  type: 'object',
  additionalProperties: strictObject({ stage: integer, offset: integer, amount: integer }),
};

export const PROGRAM_RESOURCES_SCHEMA = strictObject({
  tables: integer,
  tableEntries: integer,
  registerBits: integer,
  counters: integer,
  maxOpsPerPacket: integer,
  headerBytes: integer,
});

/** What admitting a tenant's program answers (the allocator's PUT, passed on by the operator). */
export const PROGRAM_ADMITTED_SCHEMA = strictObject({
  version: integer,
  pageTable: PAGE_TABLE_SCHEMA,
  resources: PROGRAM_RESOURCES_SCHEMA,
});

export const TABLE_ENTRIES_SCHEMA = strictObject({ table: text, entries: integer });

/** A tenant's VMs and the port numbers its programs see as `std.in_port`. */
export const TENANT_PORTS_SCHEMA = strictObject({
  tenant: text,
  ports: { type: 'array', items: strictObject({ vm: text, port: integer }) },
});
export const REGISTER_CELL_SCHEMA = strictObject({ register: text, index: integer, value: text });
export const COUNTER_CELL_SCHEMA = strictObject({ counter: text, index: integer, packets: integer, bytes: integer });

const endpoint = strictObject({ vm: text, tenant: text });
export const CIRCUIT_DESCRIPTOR_SCHEMA = strictObject({
  id: text,
  mode: { type: 'string', enum: ['stream', 'datagram'] },
  side: { type: 'string', enum: ['a', 'b'] },
  service: text,
  capacity: strictObject({ entries: integer, bytes: integer }),
  local: endpoint,
  peer: endpoint,
});

/** A pcap file (answers of the traces' pcap routes). */
export const PCAP_CONTENT = { 'application/vnd.tcpdump.pcap': { schema: { type: 'string', format: 'binary' } } };

const rate: SchemaObject = { type: 'number', minimum: 0, maximum: 1 };
const delay: SchemaObject = { type: 'number', minimum: 0, maximum: MAX_IMPAIRMENT_DELAY_MS };

/** A port impairment as answered (the request body's schema comes from ImpairmentSpecDto). */
export const IMPAIRMENT_SPEC_SCHEMA = strictObject(
  {
    delayMs: delay,
    jitterMs: delay,
    lossRate: rate,
    reorderRate: rate,
    rateFramesPerSecond: { type: 'number', minimum: 1, maximum: MAX_IMPAIRMENT_RATE_FPS },
    seed: { type: 'integer', minimum: 0, maximum: 0xffffffff },
  },
  ['delayMs', 'jitterMs', 'lossRate', 'reorderRate', 'rateFramesPerSecond', 'seed'],
);

/** A port's impairment, what it holds and its counts (the switch's GET and PUT, passed on by the operator). */
export const IMPAIRMENT_VIEW_SCHEMA = strictObject({
  vm: text,
  impairment: { ...IMPAIRMENT_SPEC_SCHEMA, nullable: true },
  held: strictObject({ frames: integer, bytes: integer }),
  counts: strictObject({ offered: integer, lost: integer, queueFull: integer, reordered: integer, released: integer }),
});

/** What removing a port's impairment answers: how many held frames were flushed to the port, in order. */
export const IMPAIRMENT_CLEARED_SCHEMA = strictObject({ vm: text, flushed: integer });
