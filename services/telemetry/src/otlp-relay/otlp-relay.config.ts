import { commonEnv, ConfigError, ConfigOf, env, type EnvVar } from '@tenantlab/shared';
import type { RateLimit } from './source-rate-limiter';
import type { VmIdentity } from './vm-sources';
import type { TokenVm } from './vm-tokens';

const VM_TOKEN_HASHES = /^[a-z0-9-]+=[0-9a-f]{64}(,[a-z0-9-]+=[0-9a-f]{64})*$/;

export const otlpRelayEnv = {
  ...commonEnv,
  PORT: env.port({ default: 4318 }),
  /** Jaeger's OTLP/HTTP traces endpoint on the trusted network. */
  RELAY_UPSTREAM: env.url({ protocols: ['http:', 'https:'], default: 'http://jaeger:4318/v1/traces' }),
  /** The lab's VMs and their tenants, `vm=tenant,...`: each VM's name resolves to its address on the tenant network. */
  RELAY_VMS: env.string({ pattern: /^[a-z0-9-]+=[a-z0-9-]+(,[a-z0-9-]+=[a-z0-9-]+)*$/, describe: 'vm=tenant,...' }),
  /**
   * Locally, where every VM connects from 127.0.0.1: each VM's trace export token's sha256, `vm=<64 hex>,...`, one for
   * every VM of RELAY_VMS; a VM is then known by the token it presents (`Authorization: Bearer`), not its address.
   */
  RELAY_VM_TOKEN_SHA256S: {
    expects: 'vm=<sha256 hex>,...',
    optional: true,
    parse: (raw: string) => (VM_TOKEN_HASHES.test(raw) ? raw : undefined),
  } satisfies EnvVar<string | undefined>,
  /** The Authorization header Jaeger's OTLP receiver takes (a local lab's: basic auth of its ingest user). */
  RELAY_UPSTREAM_AUTHORIZATION: {
    expects: 'an Authorization header value, such as Basic <base64>',
    optional: true,
    parse: (raw: string) => (/^[A-Za-z]+ [A-Za-z0-9+/=._~-]{16,1024}$/.test(raw) ? raw : undefined),
  } satisfies EnvVar<string | undefined>,
  /** The largest export taken (the OTel SDK's default batch of 512 spans is far below). */
  RELAY_MAX_BODY_BYTES: env.integer({ default: 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 }),
  /**
   * What one VM may send at most, in bytes of export per second, however large its tenant's share; its burst is four
   * largest exports.
   */
  RELAY_BYTES_PER_SECOND_PER_VM: env.integer({ default: 256 * 1024, min: 1024, max: 1024 * 1024 * 1024 }),
  /**
   * What the relay forwards for all VMs together, shared fairly among the tenants exporting and within a tenant among
   * its VMs exporting (README, "Trace export from VMs"): 8 VMs at their full rate. The services export to Jaeger
   * directly, beside this.
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

/**
 * Each VM of `vms` with its token's sha256 from RELAY_VM_TOKEN_SHA256S; a VM without one, or a hash for a VM the relay
 * does not relay, is a ConfigError (a VM left without a token could never export, and silently).
 */
export function parseRelayVmTokens(vms: readonly VmIdentity[], value: string): TokenVm[] {
  const hashes = new Map(
    value.split(',').map((pair) => {
      const [vm = '', hash = ''] = pair.split('=');
      return [vm, hash] as const;
    }),
  );
  const unknown = [...hashes.keys()].filter((vm) => !vms.some((identity) => identity.vm === vm));
  if (unknown.length > 0) {
    throw new ConfigError('RELAY_VM_TOKEN_SHA256S', `names VMs RELAY_VMS does not: ${unknown.join(', ')}`);
  }
  return vms.map((identity) => {
    const tokenSha256 = hashes.get(identity.vm);
    if (tokenSha256 === undefined) {
      throw new ConfigError('RELAY_VM_TOKEN_SHA256S', `has no token hash for ${identity.vm}, which RELAY_VMS relays`);
    }
    return { ...identity, tokenSha256 };
  });
}

/** What one request costs beside its body, so a flood of tiny exports is limited too. */
const REQUEST_COST_BYTES = 1024;

/**
 * The relay's rate limits as its config sets them: each VM's rate, and the cap on all VMs together. A lab has no more
 * tenants than VMs, so `vmCount` bounds both what the limiter remembers.
 */
export function relayRateLimit(config: OtlpRelayConfig, vmCount: number): RateLimit {
  // Four of the largest exports at once, for one VM as for all: one export always fits when the relay was quiet.
  const burstBytes = 4 * (config.RELAY_MAX_BODY_BYTES + REQUEST_COST_BYTES);
  return {
    bytesPerSecond: config.RELAY_BYTES_PER_SECOND_PER_VM,
    burstBytes,
    requestCostBytes: REQUEST_COST_BYTES,
    maxSources: vmCount,
    globalBytesPerSecond: config.RELAY_BYTES_PER_SECOND_TOTAL,
    globalBurstBytes: burstBytes,
  };
}
