/** The ports and names the default lab uses; the lab runner, compose file and tests all read them from here. */
export const SERVICE_PORTS = {
  operator: 3000,
  switch: 3001,
  allocator: 3002,
  telemetry: 3003,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

/** First port of tenant VMs' control APIs; VM n of the lab gets this plus n. */
export const VM_BASE_PORT = 3100;

/** VM ids and tenant ids appear in Redis keys and ACL user names, so they are kept to a safe alphabet. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The HTTP header in which a VM sends its tenant's enrollment secret to `POST /vms` (issue 10): a header rather than
 * a body field, so that the secret never lands in a logged or traced request body.
 */
export const TENANT_SECRET_HEADER = 'x-tenant-secret';
