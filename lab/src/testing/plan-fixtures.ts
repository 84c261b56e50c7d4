import { type InfraUrls } from '../lab-plan';
import { type LabDefinition, parseLabDefinition } from '../lab-definition';

/** The Redis admin password in SPEC_INFRA_URLS's `redisAdmin`. */
export const SPEC_REDIS_PASSWORD = 'a'.repeat(64);

/** Infrastructure URLs for planning a lab in unit tests (the e2e lab's ports; nothing listens there). */
export const SPEC_INFRA_URLS: InfraUrls = {
  redis: 'redis://127.0.0.1:16379',
  redisAdmin: `redis://:${SPEC_REDIS_PASSWORD}@127.0.0.1:16379`,
  kafkaBrokers: '127.0.0.1:19092',
  otlpHttp: 'http://127.0.0.1:14318',
  jaegerQuery: 'http://127.0.0.1:26686',
};

/** A lab of two tenants for unit tests: tenant-a with vm-a1 and vm-a2, tenant-b with vm-b1. */
export const SPEC_TWO_TENANT_LAB: LabDefinition = parseLabDefinition(
  {
    name: 'spec',
    tenants: [
      { id: 'tenant-a', vms: ['vm-a1', 'vm-a2'] },
      { id: 'tenant-b', vms: ['vm-b1'] },
    ],
  },
  'spec.json',
);
