import type { FrameView } from './frame-view';
import { IP_PROTOCOLS } from './packet.constants';

/**
 * The 16-bit one's complement sum (RFC 1071) of `length` bytes from `offset`, added to `sum`, not yet folded. An odd
 * last byte counts as its word's high byte. A plain number cannot overflow here: IPv4 bounds a segment to 64 KiB, so
 * the sum stays far below 2^53.
 */
function addWords(frame: Buffer, offset: number, length: number, sum: number): number {
  const even = offset + (length & ~1);
  for (let i = offset; i < even; i += 2) sum += (frame[i] << 8) | frame[i + 1];
  if ((length & 1) !== 0) sum += frame[even] << 8;
  return sum;
}

/** Folds the carries back in and complements: the value a checksum field holds. */
function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * The RFC 1071 checksum of an IPv4 header as it stands. With the checksum field zeroed this is the value to write;
 * over a header that already carries its checksum it is 0 exactly when that checksum is right.
 */
export function ipv4HeaderChecksum(frame: Buffer, offset: number, headerLength: number): number {
  return finish(addWords(frame, offset, headerLength, 0));
}

/**
 * The TCP or UDP checksum (RFC 793 / RFC 768) of the `l4Length` bytes at `l4Offset`, over the pseudo-header built
 * from the IPv4 header at `l3Offset` (addresses, protocol, `l4Length`). Like `ipv4HeaderChecksum`: with the field
 * zeroed it is the value to write (UDP sends a computed 0 as 0xffff), and over a segment with its checksum it is 0
 * when that checksum is right.
 */
export function l4Checksum(frame: Buffer, l3Offset: number, l4Offset: number, l4Length: number): number {
  let sum = addWords(frame, l3Offset + 12, 8, 0);
  sum += frame[l3Offset + 9] + l4Length;
  return finish(addWords(frame, l4Offset, l4Length, sum));
}

/**
 * Whether the TCP or UDP checksum of a frame `parseFrame` accepted is right. `parseFrame` does not check it: summing
 * every payload byte would cost more than the rest of the parse, and the switch does not terminate L4 (the receiving
 * VM's stack checks it end to end), so a bad one is the endpoint's to drop. For tests and tools.
 *
 * True for a UDP datagram whose sender left the checksum out (0, RFC 768). False when there is nothing complete to
 * check: not IPv4, neither TCP nor UDP, or a fragment (the checksum covers the whole datagram).
 */
export function verifyL4Checksum(frame: Buffer, view: FrameView): boolean {
  if (!view.ipv4 || view.ipFragmentOffset !== 0 || view.ipMoreFragments) return false;
  const l4 = view.l4Offset;
  if (view.ipProtocol === IP_PROTOCOLS.tcp) {
    return l4Checksum(frame, view.l3Offset, l4, view.ipTotalLength - view.ipHeaderLength) === 0;
  }
  if (view.ipProtocol === IP_PROTOCOLS.udp) {
    if (((frame[l4 + 6] << 8) | frame[l4 + 7]) === 0) return true;
    return l4Checksum(frame, view.l3Offset, l4, (frame[l4 + 4] << 8) | frame[l4 + 5]) === 0;
  }
  return false;
}
