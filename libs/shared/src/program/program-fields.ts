import type { FrameView } from '../packet';

/** FrameView members that hold numbers: where the switch reads a standard field from. */
export type NumericFrameViewMember = {
  [K in keyof FrameView]: FrameView[K] extends number ? K : never;
}[keyof FrameView];

export interface StandardFieldSpec {
  readonly bits: number;
  /**
   * Whether actions may `set` it. Writable fields are the ones the switch can rewrite in place and fix checksums
   * for; fields that decide how the rest of the frame parses (eth.type, ipv4.proto), TCP state (tcp.flags) and
   * what the switch itself knows about the packet (std.*) are read-only.
   */
  readonly writable: boolean;
  /** The FrameView members it comes from, most significant first (a MAC is split in two); empty when not parsed. */
  readonly frameView: readonly NumericFrameViewMember[];
  readonly description: string;
}

/**
 * The header fields every program can match on and read, with their widths. Absent headers read as 0 (an ARP frame
 * has ipv4.src 0), as FrameView reports them. Tenant headers (`<header>.<field>`) and metadata (`meta.<name>`)
 * come on top, declared by the program.
 */
export const STANDARD_FIELDS = {
  'eth.src': {
    bits: 48,
    writable: true,
    frameView: ['srcMacHi', 'srcMacLo'],
    description: 'Ethernet source MAC',
  },
  'eth.dst': {
    bits: 48,
    writable: true,
    frameView: ['dstMacHi', 'dstMacLo'],
    description: 'Ethernet destination MAC',
  },
  'eth.type': {
    bits: 16,
    writable: false,
    frameView: ['etherType'],
    description: 'EtherType after the VLAN tag (0x0800 for IPv4)',
  },
  'ipv4.src': { bits: 32, writable: true, frameView: ['ipSrc'], description: 'IPv4 source address' },
  'ipv4.dst': { bits: 32, writable: true, frameView: ['ipDst'], description: 'IPv4 destination address' },
  'ipv4.proto': { bits: 8, writable: false, frameView: ['ipProtocol'], description: 'IPv4 protocol number' },
  'ipv4.ttl': { bits: 8, writable: true, frameView: ['ttl'], description: 'IPv4 time to live' },
  'ipv4.dscp': {
    bits: 6,
    writable: true,
    frameView: ['ipDscp'],
    description: 'IPv4 differentiated services code point',
  },
  'l4.sport': { bits: 16, writable: true, frameView: ['srcPort'], description: 'TCP or UDP source port' },
  'l4.dport': { bits: 16, writable: true, frameView: ['dstPort'], description: 'TCP or UDP destination port' },
  'tcp.flags': { bits: 8, writable: false, frameView: ['tcpFlags'], description: 'TCP flags byte (TCP_FLAGS)' },
  'std.in_port': {
    bits: 16,
    writable: false,
    frameView: [],
    description: "the switch's number for the port the frame came in on",
  },
  'std.length': { bits: 16, writable: false, frameView: ['length'], description: 'frame length in bytes' },
} as const satisfies Record<string, StandardFieldSpec>;

export type StandardField = keyof typeof STANDARD_FIELDS;

export function isStandardField(ref: string): ref is StandardField {
  return Object.hasOwn(STANDARD_FIELDS, ref);
}
