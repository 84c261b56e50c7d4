import { commonEnv, ConfigOf, env, ID_PATTERN, redisEnv, metricsTokenEnv, vmControlTokenEnv } from '@tenantlab/shared';

const idRule = 'an id of 1-63 characters of a-z, 0-9 and -';

export const tenantVmEnv = {
  ...commonEnv,
  /** Whose scrapes /metrics answers: the sha256 of the lab's metrics scrape token. */
  ...metricsTokenEnv,
  /** Whose calls its control API answers: the sha256 of this VM's control token (vm-control.ts). */
  ...vmControlTokenEnv,
  /**
   * Where Redis answers, without credentials: the VM logs in as its own ACL user with the password the operator
   * issues at registration, never as the admin.
   */
  ...redisEnv,
  PORT: env.port({ default: 3100 }),
  VM_ID: env.string({ pattern: ID_PATTERN, describe: `${idRule}, such as vm-a1` }),
  TENANT_ID: env.string({ pattern: ID_PATTERN, describe: `${idRule}, such as tenant-a` }),
  /**
   * Its tenant's enrollment secret, sent to the operator at each registration (X-Tenant-Secret): only a VM holding
   * it joins the tenant. The lab hands each VM its own tenant's secret, never another's.
   */
  TENANT_SECRET: env.string({
    describe: "the tenant's enrollment secret (from the lab, or from the operator's POST /tenants)",
  }),
  OPERATOR_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://127.0.0.1:3000' }),
  /** Where others reach this VM's control API; defaults to http://HOST:PORT. */
  VM_ADVERTISE_URL: { ...env.url({ protocols: ['http:', 'https:'] }), optional: true },
  HEARTBEAT_INTERVAL_MS: env.integer({ default: 2000, min: 100 }),
};

export type TenantVmConfig = ConfigOf<typeof tenantVmEnv>;

export const TENANT_VM_CONFIG = Symbol('TENANT_VM_CONFIG');
