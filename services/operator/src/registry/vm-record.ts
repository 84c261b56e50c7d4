/** What the registry stores about one tenant VM. Times are epoch milliseconds. */
export interface VmRecord {
  id: string;
  tenant: string;
  /** Where the VM's control API answers. */
  url: string;
  registeredAt: number;
  lastHeartbeatAt: number;
}

/** A VM as the API shows it: the record plus whether its lease is current. */
export interface VmView extends VmRecord {
  alive: boolean;
}
