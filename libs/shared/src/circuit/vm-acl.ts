import { PORT_KEYS } from '../port/port-keys';
import { CIRCUIT_KEYS, type CircuitSide, inboundRing, outboundRing, VM_KEYS } from './circuit-keys';

/**
 * The Redis ACL of a tenant VM's user: exact key names (no globs: every key a VM may touch is known when it is
 * granted), and per key only the commands the protocol issues on it, in its direction. Redis 7 selectors carry the
 * pairing: a command runs only if one selector allows both the command and every key it names.
 *
 * What the VM issues, and where (services/tenant-vm/src/vnic, libs/shared/src/circuit):
 * - keys it writes: its port's tx (PortSender: XADD, XLEN for its cap) and each circuit's outbound ring (RingWriter:
 *   XADD NOMKSTREAM, XLEN for credit and for "the peer took my FIN");
 * - keys it reads: its port's rx (PortReceiver), its inbox (InboxListener) and each circuit's inbound ring
 *   (RingReader): XREAD, then XTRIM MINID of what it read (the trim is also the reader's acknowledgement), and XLEN
 *   (RingReader holds a ring to its capacity);
 * - each circuit's control hash, read only: EXISTS (RingReader notices a teardown), HGET/HMGET.
 * So a key the VM writes it cannot trim, delete, retype, expire or rename (no XTRIM, DEL, UNLINK, SET, RENAME,
 * EXPIRE, XGROUP, XSETID on it), and the only write on a key it reads is trimming what it was sent. Everything else
 * (KEYS, SCAN, FLUSHALL, EVAL, FUNCTION, CONFIG, DEBUG, OBJECT, TYPE, MEMORY, pub/sub, ...) is NOPERM.
 *
 * Not expressible in an ACL: arguments. XADD may name an explicit id or MAXLEN (only ever on the VM's own streams,
 * harming nobody but itself), and may carry any number of fields (bounded by proto-max-bulk-len per field and by
 * maxmemory; see attackerRedisBytesMax).
 */
export const VM_ACL_CONNECTION_COMMANDS: readonly string[] = ['+ping', '+client|setname', '+client|id'];
/** On a stream the VM writes: its tx, its circuits' outbound rings. */
export const VM_ACL_WRITE_COMMANDS: readonly string[] = ['+xadd', '+xlen'];
/** On a stream the VM reads: its rx, its inbox, its circuits' inbound rings. */
export const VM_ACL_READ_COMMANDS: readonly string[] = ['+xread', '+xtrim', '+xlen'];
/** On its circuits' control hashes, read only. */
export const VM_ACL_CONTROL_COMMANDS: readonly string[] = ['+exists', '+hget', '+hmget'];

/** One ACL user per VM, named after it; VM ids are limited to a-z, 0-9 and `-`, so the name needs no quoting. */
export function vmAclUser(vmId: string): string {
  return `vm-${vmId}`;
}

/** Pub/sub channels are not part of the protocol: a VM user gets none. */
export const VM_ACL_CHANNELS = 'resetchannels';

/** How a VM user's password is given: in clear, or as its SHA-256 hex, which is all the operator keeps. */
export type VmAclSecret = { password: string } | { passwordSha256: string };

/** One live circuit of the VM and the side it holds (a VM connected to its own listener holds both: two grants). */
export interface VmCircuitGrant {
  id: string;
  side: CircuitSide;
}

/** The keys a VM may touch, by what it may do with them. */
export interface VmAclKeys {
  writes: string[];
  reads: string[];
  controls: string[];
}

/** Exactly the keys of one VM's grants: its port and inbox, and per circuit its outbound, inbound ring and control. */
export function vmAclKeys(vmId: string, circuits: readonly VmCircuitGrant[]): VmAclKeys {
  const sorted = [...circuits].sort((x, y) => x.id.localeCompare(y.id) || x.side.localeCompare(y.side));
  return {
    writes: [PORT_KEYS.tx(vmId), ...sorted.map(({ id, side }) => CIRCUIT_KEYS.ring(id, outboundRing(side)))],
    reads: [
      PORT_KEYS.rx(vmId),
      VM_KEYS.inbox(vmId),
      ...sorted.map(({ id, side }) => CIRCUIT_KEYS.ring(id, inboundRing(side))),
    ],
    controls: [...new Set(sorted.map(({ id }) => CIRCUIT_KEYS.control(id)))],
  };
}

/**
 * The complete `ACL SETUSER` rule list of a VM user: everything is reset first (keys, commands, selectors), so
 * applying it both grants new circuits and revokes old ones. The same state always gives the same rules.
 */
export function vmAclRules(vmId: string, secret: VmAclSecret, circuits: readonly VmCircuitGrant[]): string[] {
  const keys = vmAclKeys(vmId, circuits);
  const selector = (commands: readonly string[], access: '' | '%R', names: readonly string[]): string[] =>
    names.length === 0 ? [] : [`(${[...commands, ...names.map((key) => `${access}~${key}`)].join(' ')})`];
  return [
    'reset',
    'on',
    'password' in secret ? `>${secret.password}` : `#${secret.passwordSha256}`,
    VM_ACL_CHANNELS,
    '-@all',
    ...VM_ACL_CONNECTION_COMMANDS,
    ...selector(VM_ACL_WRITE_COMMANDS, '', keys.writes),
    ...selector(VM_ACL_READ_COMMANDS, '', keys.reads),
    ...selector(VM_ACL_CONTROL_COMMANDS, '%R', keys.controls),
  ];
}

/** Whether a rule list (as vmAclRules wrote it) grants the VM its side of this circuit. */
export function vmAclGrantsCircuit(rules: readonly string[], circuitId: string): boolean {
  const control = `~${CIRCUIT_KEYS.control(circuitId)}`;
  return rules.some((rule) => rule.split(' ').some((part) => part.replace(/\)$/, '').endsWith(control)));
}
