/**
 * The parsed headers of one frame, as plain numbers: `parseFrame` fills one caller-owned view per frame instead of
 * allocating, so the switch's hot path creates no garbage. Every field is reset on each parse; after a rejection the
 * fields before the fault hold values and the rest their defaults. The view describes the Buffer it was filled from
 * (offsets point into it) and is overwritten by the next parse: copy what you keep.
 *
 * Absent values: -1 for offsets and the VLAN id, 0 for everything else (check `ipv4` before reading IPv4 fields).
 */
export class FrameView {
  /** Bytes in the frame, padding included, FCS excluded (the packet path carries frames without it). */
  length = 0;
  /** Destination MAC, upper 16 bits (octets 0-1). */
  dstMacHi = 0;
  /** Destination MAC, lower 32 bits (octets 2-5), unsigned. */
  dstMacLo = 0;
  srcMacHi = 0;
  srcMacLo = 0;
  /** 802.1Q VLAN id, or -1 when the frame is untagged. */
  vlanId = -1;
  /** 802.1Q priority code point (0-7); 0 when untagged. */
  vlanPcp = 0;
  /** The EtherType after the tag, if any. Below 0x0600 it is an 802.3 length field (LLC frame). */
  etherType = 0;
  /** Where the L3 header starts: 14, or 18 when tagged. */
  l3Offset = -1;
  ipv4 = false;
  /** IPv4 header bytes, options included (IHL * 4). */
  ipHeaderLength = 0;
  /** The IPv4 total length field: header and payload, without Ethernet padding. */
  ipTotalLength = 0;
  /** Differentiated Services code point (the upper 6 bits of the old TOS byte). */
  ipDscp = 0;
  /** Fragment offset in bytes (the header field times 8); not 0 means there is no L4 header in this frame. */
  ipFragmentOffset = 0;
  /** The More Fragments flag: with offset 0, this is the first fragment of a larger datagram. */
  ipMoreFragments = false;
  ttl = 0;
  ipProtocol = 0;
  /** Source address as an unsigned 32-bit number (ipv4ToString formats it). */
  ipSrc = 0;
  ipDst = 0;
  /** Where the IP payload starts: the L4 header, except in a non-first fragment. -1 when not IPv4. */
  l4Offset = -1;
  /** TCP or UDP ports; 0 for other protocols and non-first fragments. */
  srcPort = 0;
  dstPort = 0;
  /** Byte 13 of the TCP header (TCP_FLAGS); 0 when not TCP. */
  tcpFlags = 0;
  /**
   * The first byte after the L4 header (TCP, UDP), after the IPv4 header (other protocols, non-first fragments),
   * or after the Ethernet header and tag (not IPv4). Tenant-defined headers start here.
   */
  payloadOffset = -1;
  /**
   * Payload bytes present in this frame. For IPv4 it ends where the IP total length (or the UDP length) says, so
   * Ethernet padding is not counted; for other EtherTypes the frame has no length field and it runs to the end.
   */
  payloadLength = 0;

  /** Back to the defaults; `parseFrame` calls this first. */
  reset(): void {
    this.length = 0;
    this.dstMacHi = 0;
    this.dstMacLo = 0;
    this.srcMacHi = 0;
    this.srcMacLo = 0;
    this.vlanId = -1;
    this.vlanPcp = 0;
    this.etherType = 0;
    this.l3Offset = -1;
    this.ipv4 = false;
    this.ipHeaderLength = 0;
    this.ipTotalLength = 0;
    this.ipDscp = 0;
    this.ipFragmentOffset = 0;
    this.ipMoreFragments = false;
    this.ttl = 0;
    this.ipProtocol = 0;
    this.ipSrc = 0;
    this.ipDst = 0;
    this.l4Offset = -1;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.payloadOffset = -1;
    this.payloadLength = 0;
  }

  /** ff:ff:ff:ff:ff:ff. */
  isBroadcast(): boolean {
    return this.dstMacHi === 0xffff && this.dstMacLo === 0xffffffff;
  }

  /** The group bit (lowest bit of the first octet) of the destination MAC; broadcast counts as multicast. */
  isMulticast(): boolean {
    return (this.dstMacHi & 0x0100) !== 0;
  }
}
