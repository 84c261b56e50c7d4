// From the module, not the port index: a name imported through an index is a getter call on each use (CommonJS
// re-exports), and this one is read per frame.
import { MAX_FRAME_BYTES } from '../port/port-keys';
import { ipv4HeaderChecksum } from './checksum';
import type { FrameRejectReason } from './frame-reject-reasons';
import type { FrameView } from './frame-view';
import { ETHER_TYPES, HEADER_BYTES, IP_PROTOCOLS } from './packet.constants';

// The switch parses every frame here, millions a second in one process: bytes are read by index (no Buffer method
// calls with their bounds checks, no subarrays, no strings), results go into the caller's view, and rejections are
// returned, not thrown.

function u16(frame: Buffer, offset: number): number {
  return (frame[offset] << 8) | frame[offset + 1];
}

function u32(frame: Buffer, offset: number): number {
  return ((frame[offset] << 24) | (frame[offset + 1] << 16) | (frame[offset + 2] << 8) | frame[offset + 3]) >>> 0;
}

function isTagType(etherType: number): boolean {
  return etherType === ETHER_TYPES.vlan || etherType === ETHER_TYPES.qinq || etherType === ETHER_TYPES.qinqLegacy;
}

/**
 * Parses Ethernet II, an optional 802.1Q tag, IPv4 and TCP or UDP into `view` (reset first). Returns undefined when
 * the frame is valid, else why not (FRAME_REJECT_REASONS). Other EtherTypes (ARP, IPv6, ...) are valid L2 frames with
 * `ipv4` false. Trailing bytes after the IPv4 total length (Ethernet padding) are allowed. Fragments are valid; only
 * the first one has an L4 header to parse, and it must hold all of it, or port-based rules could be evaded with
 * tiny fragments (RFC 1858). TCP and UDP checksums are not checked (see `verifyL4Checksum`).
 */
export function parseFrame(frame: Buffer, view: FrameView): FrameRejectReason | undefined {
  view.reset();
  const length = frame.length;
  view.length = length;
  if (length > MAX_FRAME_BYTES) return 'oversized';
  if (length < HEADER_BYTES.ethernet) return 'too-short';

  view.dstMacHi = u16(frame, 0);
  view.dstMacLo = u32(frame, 2);
  view.srcMacHi = u16(frame, 6);
  view.srcMacLo = u32(frame, 8);
  let etherType = u16(frame, 12);
  let l3 = HEADER_BYTES.ethernet;
  if (etherType === ETHER_TYPES.vlan) {
    if (length < HEADER_BYTES.ethernet + HEADER_BYTES.vlanTag) return 'too-short';
    const tci = u16(frame, 14);
    view.vlanPcp = tci >>> 13;
    view.vlanId = tci & 0x0fff;
    etherType = u16(frame, 16);
    l3 += HEADER_BYTES.vlanTag;
  }
  // A second tag would let a sender pick the VLAN a QinQ-unaware hop sees after the first one is stripped.
  if (isTagType(etherType)) return 'vlan-stacked';
  view.etherType = etherType;
  view.l3Offset = l3;

  if (etherType !== ETHER_TYPES.ipv4) {
    view.payloadOffset = l3;
    view.payloadLength = length - l3;
    return undefined;
  }
  if (length - l3 < HEADER_BYTES.ipv4) return 'too-short';
  const versionIhl = frame[l3];
  if (versionIhl >>> 4 !== 4) return 'ipv4-bad-version';
  const headerLength = (versionIhl & 0x0f) << 2;
  if (headerLength < HEADER_BYTES.ipv4 || l3 + headerLength > length) return 'ipv4-bad-header-length';
  const totalLength = u16(frame, l3 + 2);
  if (totalLength < headerLength || l3 + totalLength > length) return 'ipv4-bad-total-length';
  if (ipv4HeaderChecksum(frame, l3, headerLength) !== 0) return 'ipv4-bad-checksum';

  const fragment = u16(frame, l3 + 6);
  const protocol = frame[l3 + 9];
  view.ipv4 = true;
  view.ipHeaderLength = headerLength;
  view.ipTotalLength = totalLength;
  view.ipDscp = frame[l3 + 1] >>> 2;
  view.ipFragmentOffset = (fragment & 0x1fff) << 3;
  view.ipMoreFragments = (fragment & 0x2000) !== 0;
  view.ttl = frame[l3 + 8];
  view.ipProtocol = protocol;
  view.ipSrc = u32(frame, l3 + 12);
  view.ipDst = u32(frame, l3 + 16);
  const l4 = l3 + headerLength;
  const ipPayloadLength = totalLength - headerLength;
  view.l4Offset = l4;

  if (view.ipFragmentOffset === 0 && protocol === IP_PROTOCOLS.udp) {
    if (ipPayloadLength < HEADER_BYTES.udp) return 'truncated-l4';
    const udpLength = u16(frame, l4 + 4);
    // A first fragment's UDP length covers the whole datagram, so it may exceed what this fragment carries.
    if (udpLength < HEADER_BYTES.udp || (udpLength > ipPayloadLength && !view.ipMoreFragments)) {
      return 'udp-bad-length';
    }
    view.srcPort = u16(frame, l4);
    view.dstPort = u16(frame, l4 + 2);
    view.payloadOffset = l4 + HEADER_BYTES.udp;
    view.payloadLength = (udpLength < ipPayloadLength ? udpLength : ipPayloadLength) - HEADER_BYTES.udp;
    return undefined;
  }
  if (view.ipFragmentOffset === 0 && protocol === IP_PROTOCOLS.tcp) {
    if (ipPayloadLength < HEADER_BYTES.tcp) return 'truncated-l4';
    const tcpHeaderLength = (frame[l4 + 12] >>> 4) << 2;
    if (tcpHeaderLength < HEADER_BYTES.tcp || tcpHeaderLength > ipPayloadLength) return 'tcp-bad-header-length';
    view.srcPort = u16(frame, l4);
    view.dstPort = u16(frame, l4 + 2);
    view.tcpFlags = frame[l4 + 13];
    view.payloadOffset = l4 + tcpHeaderLength;
    view.payloadLength = ipPayloadLength - tcpHeaderLength;
    return undefined;
  }
  view.payloadOffset = l4;
  view.payloadLength = ipPayloadLength;
  return undefined;
}
