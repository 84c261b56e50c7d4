import { commonEnv, ConfigOf, env } from '@tenantlab/shared';
import type { VmIdentity } from './vm-sources';

export const otlpRelayEnv = {
  ...commonEnv,
  PORT: env.port({ default: 4318 }),
  /** Jaeger's OTLP/HTTP traces endpoint on the trusted network. */
  RELAY_UPSTREAM: env.url({ protocols: ['http:', 'https:'], default: 'http://jaeger:4318/v1/traces' }),
  /** The lab's VMs and their tenants, `vm=tenant,...`: each VM's name resolves to its address on the tenant network. */
  RELAY_VMS: env.string({ pattern: /^[a-z0-9-]+=[a-z0-9-]+(,[a-z0-9-]+=[a-z0-9-]+)*$/, describe: 'vm=tenant,...' }),
  /** The largest export taken (the OTel SDK's default batch of 512 spans is far below). */
  RELAY_MAX_BODY_BYTES: env.integer({ default: 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 }),
  /** Each VM's sustained share, in bytes of export per second; its burst is four largest exports. */
  RELAY_BYTES_PER_SECOND_PER_VM: env.integer({ default: 256 * 1024, min: 1024, max: 1024 * 1024 * 1024 }),
  /**
   * What the relay forwards for all VMs together, shared fairly among the VMs exporting (README, "Trace export from
   * VMs"): 8 VMs at their full share. The services export to Jaeger directly, beside this.
   */
  RELAY_BYTES_PER_SECOND_TOTAL: env.integer({ default: 2 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024 }),
};

export type OtlpRelayConfig = ConfigOf<typeof otlpRelayEnv>;

export function parseRelayVms(value: string): VmIdentity[] {
  return value.split(',').map((pair) => {
    const [vm = '', tenant = ''] = pair.split('=');
    return { vm, tenant };
  });
}
