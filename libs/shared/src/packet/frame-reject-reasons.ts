import { MAX_FRAME_BYTES } from '../port';

/**
 * Why `parseFrame` rejected a frame, in the order it checks. The keys are stable (counters and traces are keyed by
 * them); the values are one line for humans.
 */
export const FRAME_REJECT_REASONS = {
  oversized: `frame is longer than ${MAX_FRAME_BYTES} bytes (MAX_FRAME_BYTES)`,
  'too-short': 'frame ends inside a header: under 14 bytes (Ethernet), a cut-off 802.1Q tag, or under 20 bytes of IPv4',
  'vlan-stacked': 'stacked VLAN tags (QinQ): an 0x88a8 or 0x9100 tag, or a second tag inside the 802.1Q tag',
  'ipv4-bad-version': 'EtherType says IPv4 but the header version is not 4',
  'ipv4-bad-header-length': 'IPv4 header length (IHL) is under 5 words or runs past the end of the frame',
  'ipv4-bad-total-length': 'IPv4 total length is shorter than the IPv4 header or longer than the frame holds',
  'ipv4-bad-checksum': 'IPv4 header checksum does not match the header',
  'truncated-l4': 'IP payload is shorter than the minimal TCP (20 bytes) or UDP (8 bytes) header',
  'udp-bad-length': 'UDP length is under 8 or longer than the IP payload',
  'tcp-bad-header-length': 'TCP data offset is under 5 words or runs past the end of the IP payload',
} as const;

export type FrameRejectReason = keyof typeof FRAME_REJECT_REASONS;
