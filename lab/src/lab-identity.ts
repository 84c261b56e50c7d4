import { createHash } from 'node:crypto';
import type { LabDefinition, TenantCapsOverrides } from './lab-definition';
import { ensureLabSecret } from './lab-secrets';

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
}

export const OPERATOR_ADMIN_TOKEN_SECRET = 'operator-admin-token';

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
  };
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
