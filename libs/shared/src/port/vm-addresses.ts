import { createHash } from 'node:crypto';

/**
 * Each VM's vNIC MAC and IPv4 address derive from its id, so any VM (or test) can address another by id without a
 * lookup. The MAC is locally administered unicast (02:...); the address is in 10.0.0.0/8. Nothing relies on them
 * being unique across tenants: the switch forwards within a tenant's VLAN only.
 */
export function vmMacAddress(vmId: string): string {
  const digest = createHash('sha256').update(`mac:${vmId}`).digest();
  const bytes = [0x02, ...digest.subarray(0, 5)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function vmIpv4Address(vmId: string): string {
  const digest = createHash('sha256').update(`ipv4:${vmId}`).digest();
  // Avoid .0 and .255 in the last octet so the address never looks like a network or broadcast address.
  return `10.${digest[0]}.${digest[1]}.${1 + (digest[2] % 254)}`;
}
