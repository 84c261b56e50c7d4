/** EtherTypes the codec knows by name. Values below 0x0600 are not EtherTypes but 802.3 length fields (LLC frames). */
export const ETHER_TYPES = {
  ipv4: 0x0800,
  arp: 0x0806,
  /** 802.1Q customer tag (C-tag): the one tag a frame may carry. */
  vlan: 0x8100,
  /** 802.1ad service tag (S-tag): the outer tag of QinQ. */
  qinq: 0x88a8,
  /** The pre-802.1ad QinQ tag some switches still send; treated like 0x88a8. */
  qinqLegacy: 0x9100,
  ipv6: 0x86dd,
} as const;

/** IPv4 protocol numbers the codec knows by name (IANA "Assigned Internet Protocol Numbers"). */
export const IP_PROTOCOLS = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  /** RFC 3692: reserved for experimentation and testing; what the builder uses for IPv4 without TCP or UDP. */
  experimental: 253,
} as const;

/** TCP flag bits as they appear in `FrameView.tcpFlags` (byte 13 of the TCP header). */
export const TCP_FLAGS = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
} as const;

/** Header sizes in bytes, without options (the builder never writes options; the parser accepts them). */
export const HEADER_BYTES = {
  ethernet: 14,
  vlanTag: 4,
  ipv4: 20,
  udp: 8,
  tcp: 20,
} as const;
