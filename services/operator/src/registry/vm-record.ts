/** What the registry stores about one tenant VM. Times are epoch milliseconds. */
export interface VmRecord {
  id: string;
  tenant: string;
  /** Where the VM's control API answers. */
  url: string;
  registeredAt: number;
  lastHeartbeatAt: number;
  /** sha256 of the VM's API token. The token itself is only in the POST /vms response. */
  tokenHash: string;
  /** sha256 of the VM's Redis ACL password, the form ACL SETUSER takes (`#<hash>`), so grants can be rebuilt. */
  aclPasswordHash: string;
  /** Its tenant's VLAN id on the packet path; absent only in records written before VMs had one. */
  vlan?: number;
}

/** A VM as the API shows it: the record without its secrets' hashes, plus whether its lease is current. */
export interface VmView {
  id: string;
  tenant: string;
  url: string;
  registeredAt: number;
  lastHeartbeatAt: number;
  alive: boolean;
  /** Its tenant's VLAN id (1-4094), the same for every VM of the tenant; absent in records from before VLANs. */
  vlan?: number;
}

/** Handed out once, in the response to POST /vms, and never stored in clear. */
export interface VmCredentials {
  /** The VM's own Redis ACL user: its inbox and its live circuits' keys, nothing else. */
  redisUsername: string;
  redisPassword: string;
  /** Bearer token for the operator API calls the VM makes about itself. */
  token: string;
}

export interface RegisteredVm extends VmView {
  credentials: VmCredentials;
}
