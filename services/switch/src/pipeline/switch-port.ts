import type { FrameRejectReason } from '@tenantlab/shared';

/** One vNIC port of the switch: a tenant VM's pair of streams, with the VLAN its tenant was given. */
export interface SwitchPort {
  /** Small integer, stable for the port's life: flow cache keys and MAC tables use it instead of the VM id. */
  readonly no: number;
  readonly vm: string;
  readonly tenant: string;
  readonly vlan: number;
}

/** Why the switch dropped a frame. Every dropped frame is counted under exactly one of these. */
export const DROP_REASONS = {
  malformed: 'the frame could not be parsed (the parser reason is counted separately)',
  'tenant-vlan-tag': 'the frame carried an 802.1Q tag of its own: tenants cannot choose their VLAN',
  'spoofed-source': "the frame's source MAC was not its VM's own: a VM cannot take another's address",
  'unknown-port': 'the frame came from a port that is no longer attached',
  'same-port': 'the destination MAC was learned on the port the frame came in on',
  'no-destination': 'flooding found no other port of the tenant',
  'rx-full': "the destination VM's rx port was full (the VM does not read fast enough)",
  'program-drop': "the tenant's own program dropped the frame",
  'program-forward-unknown': "the tenant's program forwarded to a VM of the tenant that has no port attached",
  'cpu-budget': "the tenant's programs had used up their share of processing time",
  'storm-control': "a flood to more than one port, over its tenant's budget of copies (SWITCH_FLOOD_COPIES_PER_SECOND)",
  'tx-over-bound':
    'the VM wrote beyond its tx bound (PORT_CAPACITY_FRAMES entries or PORT_TX_MEMORY_BYTES of Redis memory): deleted unread',
  'oversized-entry': 'the tx entry was larger than a frame with its trace context (MAX_TX_ENTRY_BYTES): deleted unread',
  'port-fault': "a command on the destination's rx stream failed (a key of another type, say): the port is quarantined",
  'port-quarantined': 'the destination port is quarantined (its keys misbehaved)',
  'impaired-loss': "the destination port's impairment lost the frame (its lossRate)",
  'impaired-queue-full': "the destination port's impairment queue was full (its delay or rate held too much)",
  'impaired-port-detached': "the frame was held by the destination port's impairment when the port was detached",
  'impaired-switch-restart': 'the frame was held by a port impairment of a switch that stopped before delivering it',
  'entry-malformed':
    'a packed tx entry (several frames) had a record cut short: the frames before it went on, the rest is one drop',
  'entry-over-frames':
    'a packed tx entry held more than MAX_FRAMES_PER_ENTRY frames: refused whole, each frame counted',
} as const;

export type DropReason = keyof typeof DROP_REASONS;

export type Verdict =
  | { readonly kind: 'forward'; readonly outPorts: readonly SwitchPort[]; readonly flooded: boolean }
  | {
      readonly kind: 'drop';
      readonly reason: DropReason;
      /** For `malformed`: the parser's reason, which a packet trace names (issue 11). */
      readonly malformed?: FrameRejectReason;
    };
