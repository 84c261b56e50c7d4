import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LabDefinition, TenantCapsOverrides } from './lab-definition';
import { controlTokenSha256, vmControlToken, vmControlUrl } from '@tenantlab/shared';
import { jaegerQueryUrlWithCredentials } from './infra/jaeger-auth';
import { ensureLabSecret, readJaegerQueryPassword, readLabSecret, writeLabSecret } from './lab-secrets';
import type { LabState } from './lab-state';

/**
 * Who is who in a lab (issue 10): the operator's admin token and each tenant's enrollment secret, generated per
 * profile (owner-only files in `.lab/<profile>/`) and kept across runs. The operator gets the admin token and the
 * tenants' secret hashes (LAB_TENANTS), never a secret; each VM gets only its own tenant's secret (TENANT_SECRET, in Docker mode a file:
 * container-secrets.ts).
 */
export interface LabIdentity {
  adminToken: string;
  /** Tenant id -> its enrollment secret. */
  tenantSecrets: Record<string, string>;
  /** The key each VM's control token is derived from (vmControlToken); only the lab's tools hold it. */
  vmControlKey: string;
}

export const OPERATOR_ADMIN_TOKEN_SECRET = 'operator-admin-token';

/** The lab secret the VMs' control tokens are derived from. */
export const VM_CONTROL_KEY_SECRET = 'vm-control-key';

/** The lab secret's name for a tenant's enrollment secret. */
export function tenantSecretName(tenant: string): string {
  return `tenant-secret-${tenant}`;
}

export function ensureLabIdentity(dataDir: string, definition: LabDefinition): LabIdentity {
  return {
    adminToken: ensureLabSecret(dataDir, OPERATOR_ADMIN_TOKEN_SECRET),
    tenantSecrets: Object.fromEntries(
      definition.tenants.map((tenant) => [tenant.id, ensureLabSecret(dataDir, tenantSecretName(tenant.id))]),
    ),
    vmControlKey: ensureLabControlTokens(dataDir, definition),
  };
}

/** The lab secret file holding `vm`'s control token, for a person driving that VM by hand (curl). */
export function vmControlTokenName(vm: string): string {
  return `${VM_CONTROL_TOKEN_PREFIX}${vm}`;
}

const VM_CONTROL_TOKEN_PREFIX = 'vm-control-token-';

/**
 * The lab's VM control key, and each VM's control token written beside it (vmControlTokenName, owner-only), so a
 * person can `curl` a VM as the lab's tools do. The token files of VMs the lab file no longer has are deleted: they
 * would name VMs that do not run, and the profile's folder should hold what its lab uses. Returns the key.
 */
function ensureLabControlTokens(dataDir: string, definition: LabDefinition): string {
  const key = ensureLabSecret(dataDir, VM_CONTROL_KEY_SECRET);
  const vms = definition.tenants.flatMap((tenant) => tenant.vms);
  for (const vm of vms) writeLabSecret(dataDir, vmControlTokenName(vm), vmControlToken(key, vm));
  const current = new Set(vms.map(vmControlTokenName));
  for (const file of readdirSync(dataDir)) {
    if (file.startsWith(VM_CONTROL_TOKEN_PREFIX) && !current.has(file)) rmSync(join(dataDir, file), { force: true });
  }
  return key;
}

/** What a VM is given to check calls to its control API: the sha256 of its control token (CONTROL_TOKEN_SHA256). */
export function vmControlTokenHash(identity: Pick<LabIdentity, 'vmControlKey'>, vm: string): string {
  return controlTokenSha256(vmControlToken(identity.vmControlKey, vm));
}

/**
 * `vm`'s control URL (its `url` with its control token, see vmControlUrl) for the lab's tools, from the lab's key in
 * `dataDir`; `url` unchanged where the lab has no key (a lab that never started). Never print it.
 */
export function labVmControlUrl(dataDir: string, vm: string, url: string): string {
  const key = readLabSecret(dataDir, VM_CONTROL_KEY_SECRET);
  return key === undefined ? url : vmControlUrl(url, vmControlToken(key, vm));
}

/** The operator's LAB_TENANTS: every tenant of the lab file with the sha256 of its secret and its caps. */
export function labTenantsEnv(definition: LabDefinition, identity: LabIdentity): string {
  return JSON.stringify(
    definition.tenants.map((tenant) => ({
      id: tenant.id,
      secretSha256: sha256Hex(identity.tenantSecrets[tenant.id] ?? ''),
      ...(tenant.caps ? { caps: tenant.caps satisfies TenantCapsOverrides } : {}),
    })),
  );
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * `state` with the URLs the lab's tools and tests call with credentials: each VM's control URL (labVmControlUrl), and
 * Jaeger's query API with its password where the lab made one (local mode). Only ever a copy handed to them: the
 * state file and `status` keep the plain URLs.
 */
export function withToolUrls(state: LabState, dataDir: string): LabState {
  const jaegerQueryPassword = readJaegerQueryPassword(dataDir);
  return {
    ...state,
    components: state.components.map((component) => {
      if (component.kind === 'vm')
        return { ...component, url: labVmControlUrl(dataDir, component.name, component.url) };
      if (component.name === 'jaeger' && state.mode !== 'docker') {
        return { ...component, url: jaegerQueryUrlWithCredentials(component.url, jaegerQueryPassword) };
      }
      return component;
    }),
  };
}
