import { ValidationError } from '../errors';
import { MAX_FRAME_BYTES } from '../port';
import { tryParseIpv4, tryParseMac } from './addresses';
import { ipv4HeaderChecksum, l4Checksum } from './checksum';
import { ETHER_TYPES, HEADER_BYTES, IP_PROTOCOLS, TCP_FLAGS } from './packet.constants';
import { vlanProblem } from './vlan-tag';

export interface Ipv4Spec {
  src: string;
  dst: string;
  /** Default 64. */
  ttl?: number;
  /** Default from `udp`/`tcp`, else 253 (RFC 3692, experimental). */
  protocol?: number;
  /** Identification; default 0. */
  id?: number;
  /** Default 0. */
  dscp?: number;
}

export interface UdpSpec {
  srcPort: number;
  dstPort: number;
}

export interface TcpSpec {
  srcPort: number;
  dstPort: number;
  /** Default 0. */
  seq?: number;
  /** Default 0. */
  ack?: number;
  /** TCP_FLAGS bits; default ACK. */
  flags?: number;
  /** Default 65535. */
  window?: number;
}

/** What `buildFrame` builds. Without `vlanId` the frame is untagged; without `ipv4`, `etherType` is required. */
export interface FrameSpec {
  dstMac: string;
  srcMac: string;
  vlanId?: number;
  /** Needs `vlanId`; default 0. */
  vlanPcp?: number;
  /** Default 0x0800 with `ipv4`. */
  etherType?: number;
  ipv4?: Ipv4Spec;
  udp?: UdpSpec;
  tcp?: TcpSpec;
  payload?: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Collects every problem of a spec, each path-qualified, so one error can name them all. */
class SpecProblems {
  readonly list: string[] = [];

  add(problem: string): void {
    this.list.push(problem);
  }

  /** The value when it is an integer 0..max; undefined when absent or not (then noted as a problem). */
  integer(path: string, value: number | undefined, max: number): number | undefined {
    if (value === undefined || (Number.isInteger(value) && value >= 0 && value <= max)) return value;
    this.add(`${path} ${value} is not an integer 0-${max}`);
    return undefined;
  }

  mac(path: string, text: string): { hi: number; lo: number } {
    const parsed = tryParseMac(text);
    if (typeof parsed !== 'string') return parsed;
    this.add(`${path}: ${parsed}`);
    return { hi: 0, lo: 0 };
  }

  ipv4(path: string, text: string): number {
    const parsed = tryParseIpv4(text);
    if (typeof parsed !== 'string') return parsed;
    this.add(`${path}: ${parsed}`);
    return 0;
  }
}

function defaultProtocol(spec: FrameSpec): number {
  if (spec.udp) return IP_PROTOCOLS.udp;
  if (spec.tcp) return IP_PROTOCOLS.tcp;
  return IP_PROTOCOLS.experimental;
}

/** `etherType` is the spec's own, undefined when it gave none or an invalid one (already reported). */
function checkLayers(spec: FrameSpec, problems: SpecProblems, etherType: number | undefined, protocol: number): void {
  if (spec.udp && spec.tcp) problems.add('udp and tcp are both set: a frame carries one of them');
  if ((spec.udp || spec.tcp) && !spec.ipv4) problems.add('udp and tcp need an ipv4 section');
  if (spec.etherType === undefined && !spec.ipv4) problems.add('etherType is required for a frame without ipv4');
  if (spec.vlanPcp !== undefined && spec.vlanId === undefined) problems.add('vlanPcp needs vlanId');
  if (etherType !== undefined) {
    const hex = `0x${etherType.toString(16).padStart(4, '0')}`;
    if (etherType === ETHER_TYPES.vlan || etherType === ETHER_TYPES.qinq || etherType === ETHER_TYPES.qinqLegacy) {
      problems.add(`etherType ${hex} is a VLAN tag type: set vlanId instead`);
    } else if (spec.ipv4 && etherType !== ETHER_TYPES.ipv4) {
      problems.add(`etherType ${hex} contradicts ipv4 (0x0800)`);
    } else if (!spec.ipv4 && etherType === ETHER_TYPES.ipv4) {
      problems.add('etherType 0x0800 (IPv4) needs an ipv4 section');
    }
  }
  if (spec.ipv4 && protocol !== defaultProtocol(spec)) {
    const l4 = spec.udp ? 'udp' : spec.tcp ? 'tcp' : undefined;
    if (l4 !== undefined) {
      problems.add(`ipv4.protocol ${protocol} contradicts the ${l4} section`);
    } else if (protocol === IP_PROTOCOLS.udp || protocol === IP_PROTOCOLS.tcp) {
      problems.add(`ipv4.protocol ${protocol} needs a ${protocol === IP_PROTOCOLS.udp ? 'udp' : 'tcp'} section`);
    }
  }
}

/**
 * Builds a frame from a spec, filling in the lengths and the IPv4, TCP and UDP checksums. The frame is exactly its
 * headers and payload: no Ethernet padding, no FCS, no IP or TCP options. Throws a ValidationError naming every
 * problem of the spec (bad addresses, out-of-range numbers, contradicting layers, a frame over MAX_FRAME_BYTES).
 */
export function buildFrame(spec: FrameSpec): Buffer {
  const problems = new SpecProblems();
  const dst = problems.mac('dstMac', spec.dstMac);
  const src = problems.mac('srcMac', spec.srcMac);
  const tagged = spec.vlanId !== undefined;
  const vlanId = spec.vlanId ?? 0;
  const vlanPcp = spec.vlanPcp ?? 0;
  const tagProblem = vlanProblem(vlanId, vlanPcp);
  if (tagProblem !== undefined) problems.add(tagProblem);
  const ownEtherType = problems.integer('etherType', spec.etherType, 0xffff);
  const ip = spec.ipv4 && {
    src: problems.ipv4('ipv4.src', spec.ipv4.src),
    dst: problems.ipv4('ipv4.dst', spec.ipv4.dst),
    ttl: problems.integer('ipv4.ttl', spec.ipv4.ttl, 0xff) ?? 64,
    protocol: problems.integer('ipv4.protocol', spec.ipv4.protocol, 0xff) ?? defaultProtocol(spec),
    id: problems.integer('ipv4.id', spec.ipv4.id, 0xffff) ?? 0,
    dscp: problems.integer('ipv4.dscp', spec.ipv4.dscp, 63) ?? 0,
  };
  const ports = spec.udp ?? spec.tcp;
  const l4Name = spec.udp ? 'udp' : 'tcp';
  const srcPort = ports && (problems.integer(`${l4Name}.srcPort`, ports.srcPort, 0xffff) ?? 0);
  const dstPort = ports && (problems.integer(`${l4Name}.dstPort`, ports.dstPort, 0xffff) ?? 0);
  const tcp = spec.tcp && {
    seq: problems.integer('tcp.seq', spec.tcp.seq, 0xffffffff) ?? 0,
    ack: problems.integer('tcp.ack', spec.tcp.ack, 0xffffffff) ?? 0,
    flags: problems.integer('tcp.flags', spec.tcp.flags, 0xff) ?? TCP_FLAGS.ack,
    window: problems.integer('tcp.window', spec.tcp.window, 0xffff) ?? 0xffff,
  };
  checkLayers(spec, problems, ownEtherType, ip?.protocol ?? defaultProtocol(spec));

  const payload = spec.payload ?? EMPTY;
  const l3 = HEADER_BYTES.ethernet + (tagged ? HEADER_BYTES.vlanTag : 0);
  const l4 = l3 + (ip ? HEADER_BYTES.ipv4 : 0);
  const l4Header = spec.udp ? HEADER_BYTES.udp : spec.tcp ? HEADER_BYTES.tcp : 0;
  const total = l4 + l4Header + payload.length;
  if (total > MAX_FRAME_BYTES) {
    problems.add(`frame would be ${total} bytes, over MAX_FRAME_BYTES (${MAX_FRAME_BYTES}): shorten the payload`);
  }
  if (problems.list.length > 0) {
    throw new ValidationError(`Invalid frame spec: ${problems.list.join('; ')}`, problems.list);
  }

  const frame = Buffer.alloc(total);
  frame.writeUInt16BE(dst.hi, 0);
  frame.writeUInt32BE(dst.lo, 2);
  frame.writeUInt16BE(src.hi, 6);
  frame.writeUInt32BE(src.lo, 8);
  if (tagged) {
    frame.writeUInt16BE(ETHER_TYPES.vlan, 12);
    frame.writeUInt16BE((vlanPcp << 13) | vlanId, 14);
  }
  frame.writeUInt16BE(ownEtherType ?? ETHER_TYPES.ipv4, l3 - 2);
  payload.copy(frame, l4 + l4Header);
  if (ip) {
    frame[l3] = 0x45;
    frame[l3 + 1] = ip.dscp << 2;
    frame.writeUInt16BE(total - l3, l3 + 2);
    frame.writeUInt16BE(ip.id, l3 + 4);
    frame[l3 + 8] = ip.ttl;
    frame[l3 + 9] = ip.protocol;
    frame.writeUInt32BE(ip.src, l3 + 12);
    frame.writeUInt32BE(ip.dst, l3 + 16);
    frame.writeUInt16BE(ipv4HeaderChecksum(frame, l3, HEADER_BYTES.ipv4), l3 + 10);
  }
  if (srcPort !== undefined && dstPort !== undefined) {
    frame.writeUInt16BE(srcPort, l4);
    frame.writeUInt16BE(dstPort, l4 + 2);
  }
  if (spec.udp) frame.writeUInt16BE(total - l4, l4 + 4);
  if (tcp) {
    frame.writeUInt32BE(tcp.seq, l4 + 4);
    frame.writeUInt32BE(tcp.ack, l4 + 8);
    frame[l4 + 12] = (HEADER_BYTES.tcp / 4) << 4;
    frame[l4 + 13] = tcp.flags;
    frame.writeUInt16BE(tcp.window, l4 + 14);
  }
  if (spec.udp || spec.tcp) {
    const checksum = l4Checksum(frame, l3, l4, total - l4);
    // RFC 768: a UDP checksum of 0 means "none sent", so a computed 0 goes out as its one's complement twin.
    frame.writeUInt16BE(spec.udp && checksum === 0 ? 0xffff : checksum, l4 + (spec.udp ? 6 : 16));
  }
  return frame;
}
