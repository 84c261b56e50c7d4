import { commonEnv, ConfigOf, env, ID_PATTERN, redisEnv } from '@tenantlab/shared';

const idRule = 'an id of 1-63 characters of a-z, 0-9 and -';

export const tenantVmEnv = {
  ...commonEnv,
  /**
   * Where Redis answers, without credentials: the VM logs in as its own ACL user with the password the operator
   * issues at registration, never as the admin.
   */
  ...redisEnv,
  PORT: env.port({ default: 3100 }),
  VM_ID: env.string({ pattern: ID_PATTERN, describe: `${idRule}, such as vm-a1` }),
  TENANT_ID: env.string({ pattern: ID_PATTERN, describe: `${idRule}, such as tenant-a` }),
  OPERATOR_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://127.0.0.1:3000' }),
  /** Where others reach this VM's control API; defaults to http://HOST:PORT. */
  VM_ADVERTISE_URL: { ...env.url({ protocols: ['http:', 'https:'] }), optional: true },
  HEARTBEAT_INTERVAL_MS: env.integer({ default: 2000, min: 100 }),
};

export type TenantVmConfig = ConfigOf<typeof tenantVmEnv>;

export const TENANT_VM_CONFIG = Symbol('TENANT_VM_CONFIG');
