import { portKeyPattern } from '../port/port-keys';
import { circuitKeyPattern, VM_KEYS } from './circuit-keys';

/**
 * The Redis ACL of a tenant VM's user: only the commands the circuit protocol needs, only on keys the operator
 * granted (its inbox, its vNIC port streams and its live circuits). Everything else (KEYS, SCAN, FLUSHALL, CONFIG, other keys) is NOPERM.
 */
export const VM_ACL_COMMANDS: readonly string[] = [
  '+ping',
  '+client|setname',
  '+client|id',
  // Rings and inbox.
  '+xadd',
  '+xread',
  '+xtrim',
  '+xlen',
  // The control area: credit (acknowledged positions) and circuit state.
  '+hget',
  '+hmget',
  '+hset',
  '+exists',
];

/** One ACL user per VM, named after it; VM ids are limited to a-z, 0-9 and `-`, so the name needs no quoting. */
export function vmAclUser(vmId: string): string {
  return `vm-${vmId}`;
}

/** Pub/sub channels are not part of the protocol: a VM user gets none. */
export const VM_ACL_CHANNELS = 'resetchannels';

/** How a VM user's password is given: in clear, or as its SHA-256 hex, which is all the operator keeps. */
export type VmAclSecret = { password: string } | { passwordSha256: string };

/**
 * The complete `ACL SETUSER` rule list of a VM user: everything is reset first, so applying it both grants new
 * circuits and revokes old ones (ACL SETUSER cannot remove a single key pattern). Circuits are sorted so the same
 * state always gives the same rules.
 */
export function vmAclRules(vmId: string, secret: VmAclSecret, circuitIds: readonly string[]): string[] {
  return [
    'reset',
    'on',
    'password' in secret ? `>${secret.password}` : `#${secret.passwordSha256}`,
    VM_ACL_CHANNELS,
    '-@all',
    ...VM_ACL_COMMANDS,
    `~${VM_KEYS.inbox(vmId)}`,
    `~${portKeyPattern(vmId)}`,
    ...[...circuitIds].sort().map((id) => `~${circuitKeyPattern(id)}`),
  ];
}
