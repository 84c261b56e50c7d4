import type { SchemaObject } from '@nestjs/swagger';
import { PAGE_TABLE_SCHEMA, strictObject } from '@tenantlab/shared';

// The operator's own response bodies, as its OpenAPI document declares them (/openapi.json).

const integer: SchemaObject = { type: 'integer' };
const text: SchemaObject = { type: 'string' };

export const VM_VIEW_SCHEMA = strictObject(
  {
    id: text,
    tenant: text,
    url: text,
    registeredAt: integer,
    lastHeartbeatAt: integer,
    alive: { type: 'boolean' },
    vlan: integer,
  },
  ['vlan'],
);

export const REGISTERED_VM_SCHEMA = strictObject(
  {
    ...VM_VIEW_SCHEMA.properties,
    credentials: strictObject({ redisUsername: text, redisPassword: text, token: text }),
  },
  ['vlan'],
);

/** Caps are the tenant's limits (tenant-caps.ts), an open object here: their set grows with the operator's quotas. */
export const TENANT_VIEW_SCHEMA = strictObject({
  id: text,
  createdAt: integer,
  vlan: integer,
  caps: { type: 'object' },
});

export const TENANT_CREATED_SCHEMA = strictObject({ ...TENANT_VIEW_SCHEMA.properties, enrollmentSecret: text }, [
  'enrollmentSecret',
]);

export const LISTENER_SCHEMA = strictObject({ vm: text, tenant: text, service: text });

/** The tenant's program as the pipeline holds it: the document is the tenant's own (programs/ has examples). */
export const TENANT_PROGRAM_SCHEMA = strictObject({
  version: integer,
  program: { type: 'object' },
  pageTable: PAGE_TABLE_SCHEMA,
});
