import { ValidationError } from '../errors';
import { ETHER_TYPES, HEADER_BYTES } from './packet.constants';

const MAC_BYTES = 12;

/** The problem with a VLAN id or PCP, if any. 0 and 4095 are allowed: they are valid on the wire (0 = priority tag). */
export function vlanProblem(vlanId: number, pcp: number): string | undefined {
  if (!Number.isInteger(vlanId) || vlanId < 0 || vlanId > 0x0fff) return `vlanId ${vlanId} is not an integer 0-4095`;
  if (!Number.isInteger(pcp) || pcp < 0 || pcp > 7) return `vlanPcp ${pcp} is not an integer 0-7`;
  return undefined;
}

function check(problem: string | undefined): void {
  if (problem !== undefined) throw new ValidationError(`Invalid VLAN tag: ${problem}`, [problem]);
}

function isTagged(frame: Buffer): boolean {
  return (
    frame.length >= HEADER_BYTES.ethernet + HEADER_BYTES.vlanTag && frame.readUInt16BE(MAC_BYTES) === ETHER_TYPES.vlan
  );
}

function checkEthernet(frame: Buffer): void {
  if (frame.length < HEADER_BYTES.ethernet) {
    const problem = `frame has ${frame.length} bytes, fewer than an Ethernet header (14)`;
    throw new ValidationError(`Invalid frame: ${problem}`, [problem]);
  }
}

/**
 * A new frame with an 802.1Q tag inserted after the MACs. It always inserts: tagging a tagged frame gives a stacked
 * one, which `parseFrame` rejects (tests use this to build QinQ frames).
 */
export function withVlanTag(frame: Buffer, vlanId: number, pcp = 0): Buffer {
  checkEthernet(frame);
  check(vlanProblem(vlanId, pcp));
  const tagged = Buffer.allocUnsafe(frame.length + HEADER_BYTES.vlanTag);
  frame.copy(tagged, 0, 0, MAC_BYTES);
  tagged.writeUInt16BE(ETHER_TYPES.vlan, MAC_BYTES);
  tagged.writeUInt16BE((pcp << 13) | vlanId, MAC_BYTES + 2);
  frame.copy(tagged, MAC_BYTES + HEADER_BYTES.vlanTag, MAC_BYTES);
  return tagged;
}

/** A new frame without its outer 802.1Q tag; an untagged frame comes back as an unchanged copy. */
export function withoutVlanTag(frame: Buffer): Buffer {
  checkEthernet(frame);
  if (!isTagged(frame)) return Buffer.from(frame);
  const untagged = Buffer.allocUnsafe(frame.length - HEADER_BYTES.vlanTag);
  frame.copy(untagged, 0, 0, MAC_BYTES);
  frame.copy(untagged, MAC_BYTES, MAC_BYTES + HEADER_BYTES.vlanTag);
  return untagged;
}

/** Re-tags a tagged frame in place, keeping its PCP and DEI bits. Throws if the frame has no 802.1Q tag. */
export function writeVlanId(frame: Buffer, vlanId: number): void {
  check(vlanProblem(vlanId, 0));
  if (!isTagged(frame)) {
    const problem = 'frame has no 802.1Q tag to rewrite: add one with withVlanTag';
    throw new ValidationError(`Invalid frame: ${problem}`, [problem]);
  }
  const tciOffset = MAC_BYTES + 2;
  frame.writeUInt16BE((frame.readUInt16BE(tciOffset) & 0xf000) | vlanId, tciOffset);
}
