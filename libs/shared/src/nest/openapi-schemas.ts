import type { SchemaObject } from '@nestjs/swagger';
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
