import type { TenantCaps } from './tenant-caps';

/** What the operator stores about one declared tenant. */
export interface TenantRecord {
  id: string;
  /** sha256 (hex) of the tenant's enrollment secret: a VM registers only with the secret itself. */
  secretSha256: string;
  createdAt: number;
  /** The tenant's own caps; the operator's defaults apply to the others. */
  caps: Partial<TenantCaps>;
  /** The tenant's VLAN id, given when it was declared. */
  vlan: number;
}

/** A tenant as the admin API shows it: no secret hash, and the caps in force (its own, else the defaults). */
export interface TenantView {
  id: string;
  createdAt: number;
  vlan: number;
  caps: TenantCaps;
}

/** One tenant the lab declares at the operator's start (LAB_TENANTS): the hash of its secret, never the secret. */
export interface DeclaredTenant {
  id: string;
  secretSha256: string;
  caps?: Partial<TenantCaps>;
}
