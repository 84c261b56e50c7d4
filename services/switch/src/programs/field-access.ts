import { IP_PROTOCOLS } from '@tenantlab/shared';
import type { PacketContext } from './packet-context';
import type { TenantProgram } from '@tenantlab/shared';

/**
 * Numeric representation: a value of 32 bits or less is a number (an unsigned 32-bit integer, so `|`, `&`, `^`,
 * `>>>` work on it directly), anything wider is a BigInt. Each value's width is known when the program is compiled
 * (program-widths.ts gives every field, param and expression one), so every closure is built for one of the two
 * and never tests a type per packet. Most of what programs touch (IPv4 addresses, ports, TTL, hashes, 32-bit
 * registers) stays in numbers; MACs, 64/128-bit registers and wide metadata pay for BigInt.
 */
export const NARROW_BITS = 32;

/** The values an action's params take for one table entry (or the default action), split like the metadata. */
export interface ActionArgs {
  readonly narrow: readonly number[];
  readonly wide: readonly bigint[];
}

export type NarrowRead = (ctx: PacketContext, args: ActionArgs) => number;
export type WideRead = (ctx: PacketContext, args: ActionArgs) => bigint;

/** A compiled value: how to compute it and its width. */
export type Value =
  | { readonly wide: false; readonly bits: number; readonly read: NarrowRead }
  | { readonly wide: true; readonly bits: number; readonly read: WideRead };

/** A compiled storage location; values are masked to `bits` on the way in. */
export type Target =
  | { readonly wide: false; readonly bits: number; readonly write: (ctx: PacketContext, value: number) => void }
  | { readonly wide: true; readonly bits: number; readonly write: (ctx: PacketContext, value: bigint) => void };

export function narrowMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : 2 ** bits - 1;
}

export function asWide(value: Value): WideRead {
  if (value.wide) return value.read;
  const read = value.read;
  return (ctx, args) => BigInt(read(ctx, args));
}

/** A value narrowed to a 32-bit-or-less destination (values that fit pass unchanged). */
export function asNarrow(value: Value, bits: number): NarrowRead {
  const mask = narrowMask(bits);
  if (!value.wide) {
    const read = value.read;
    return value.bits <= bits ? read : (ctx, args) => (read(ctx, args) & mask) >>> 0;
  }
  const read = value.read;
  return (ctx, args) => Number(BigInt.asUintN(32, read(ctx, args))) & mask;
}

/** Writes a value to a target, converting between representations once, here. */
export function assign(target: Target, value: Value): (ctx: PacketContext, args: ActionArgs) => void {
  if (target.wide) {
    const read = asWide(value);
    const write = target.write;
    return (ctx, args) => write(ctx, read(ctx, args));
  }
  const read = asNarrow(value, target.bits);
  const write = target.write;
  return (ctx, args) => write(ctx, read(ctx, args));
}

/**
 * Reads and writes the fields a program names: standard fields (from the FrameView; writes go to the frame bytes,
 * with the IPv4 header checksum and the TCP/UDP checksum updated incrementally, RFC 1624), tenant header fields
 * (big-endian bit fields from FrameView.payloadOffset, read from the frame when used) and metadata.
 *
 * Absent headers read as 0 and ignore writes, as the FrameView reports them: IPv4 fields of a non-IPv4 frame, ports
 * of a non-TCP/UDP packet or a non-first fragment, a tenant header the payload is too short to hold.
 */
export class FieldResolver {
  private readonly headerFields = new Map<string, HeaderField>();
  private readonly metadata = new Map<string, { readonly bits: number; readonly slot: number }>();
  readonly metaNarrowCount: number;
  readonly metaWideCount: number;

  constructor(program: TenantProgram) {
    let bitOffset = 0;
    for (const header of program.headers) {
      const start = bitOffset;
      const fields: [string, number, number][] = [];
      for (const field of header.fields) {
        fields.push([`${header.name}.${field.name}`, bitOffset, field.bits]);
        bitOffset += field.bits;
      }
      const endByte = Math.ceil(bitOffset / 8);
      for (const [ref, at, bits] of fields) this.headerFields.set(ref, headerField(at, bits, endByte));
      bitOffset = start + Math.ceil((bitOffset - start) / 8) * 8;
    }
    let narrow = 0;
    let wide = 0;
    for (const { name, bits } of program.metadata) {
      this.metadata.set(`meta.${name}`, { bits, slot: bits > NARROW_BITS ? wide++ : narrow++ });
    }
    this.metaNarrowCount = narrow;
    this.metaWideCount = wide;
  }

  read(ref: string): Value {
    const meta = this.metadata.get(ref);
    if (meta !== undefined) {
      const slot = meta.slot;
      return meta.bits > NARROW_BITS
        ? { wide: true, bits: meta.bits, read: (ctx) => ctx.metaWide[slot] }
        : { wide: false, bits: meta.bits, read: (ctx) => ctx.metaNarrow[slot] };
    }
    const header = this.headerFields.get(ref);
    if (header !== undefined) return readHeaderField(header);
    const standard = Object.hasOwn(STANDARD, ref) ? STANDARD[ref] : undefined;
    if (standard === undefined) throw new RangeError(`unknown field ${ref}`);
    return standard.read;
  }

  write(ref: string): Target {
    const meta = this.metadata.get(ref);
    if (meta !== undefined) {
      const { slot, bits } = meta;
      if (bits > NARROW_BITS) {
        return { wide: true, bits, write: (ctx, value) => (ctx.metaWide[slot] = BigInt.asUintN(bits, value)) };
      }
      const mask = narrowMask(bits);
      return { wide: false, bits, write: (ctx, value) => (ctx.metaNarrow[slot] = (value & mask) >>> 0) };
    }
    const header = this.headerFields.get(ref);
    if (header !== undefined) return writeHeaderField(header);
    const standard = Object.hasOwn(STANDARD, ref) ? STANDARD[ref] : undefined;
    if (standard?.write === undefined) throw new RangeError(`${ref} is not a writable field`);
    return standard.write;
  }
}

interface HeaderField {
  readonly bits: number;
  /** Payload bytes the field's header needs to be present. */
  readonly endByte: number;
  /** The first byte the field touches, from the start of the tenant headers (FrameView.payloadOffset). */
  readonly byte: number;
  /** How many bytes it touches. */
  readonly bytes: number;
  /** Bits after the field in its last byte. */
  readonly trailing: number;
}

/** Where a field of `bits` bits, `bitOffset` bits into the tenant headers, lies in the payload's bytes. */
function headerField(bitOffset: number, bits: number, endByte: number): HeaderField {
  const shift = bitOffset & 7;
  const bytes = (shift + bits + 7) >>> 3;
  return { bits, endByte, byte: bitOffset >>> 3, bytes, trailing: bytes * 8 - shift - bits };
}

function present(ctx: PacketContext, field: HeaderField): boolean {
  return ctx.view.payloadOffset >= 0 && ctx.view.payloadLength >= field.endByte;
}

function readHeaderField(field: HeaderField): Value {
  const { bits, byte, bytes, trailing } = field;
  if (bits > NARROW_BITS) {
    const mask = (1n << BigInt(bits)) - 1n;
    const down = BigInt(trailing);
    return {
      wide: true,
      bits,
      read: (ctx) => {
        if (!present(ctx, field)) return 0n;
        let acc = 0n;
        const at = ctx.view.payloadOffset + byte;
        for (let i = 0; i < bytes; i++) acc = (acc << 8n) | BigInt(ctx.frame[at + i]);
        return (acc >> down) & mask;
      },
    };
  }
  if (trailing === 0 && bytes * 8 === bits && (bits === 8 || bits === 16 || bits === 32)) {
    const reader = bits === 8 ? 'readUInt8' : bits === 16 ? 'readUInt16BE' : 'readUInt32BE';
    return {
      wide: false,
      bits,
      read: (ctx) => (present(ctx, field) ? ctx.frame[reader](ctx.view.payloadOffset + byte) : 0),
    };
  }
  // Up to 32 bits at any bit offset span at most 5 bytes: 40 bits, exact in a double.
  const down = 2 ** trailing;
  const modulus = 2 ** bits;
  return {
    wide: false,
    bits,
    read: (ctx) => {
      if (!present(ctx, field)) return 0;
      let acc = 0;
      const at = ctx.view.payloadOffset + byte;
      for (let i = 0; i < bytes; i++) acc = acc * 256 + ctx.frame[at + i];
      return Math.floor(acc / down) % modulus;
    },
  };
}

function writeHeaderField(field: HeaderField): Target {
  const { bits, byte, bytes, trailing } = field;
  if (bits > NARROW_BITS) {
    const mask = ((1n << BigInt(bits)) - 1n) << BigInt(trailing);
    const up = BigInt(trailing);
    return {
      wide: true,
      bits,
      write: (ctx, value) => {
        if (!present(ctx, field)) return;
        const at = ctx.view.payloadOffset + byte;
        let acc = 0n;
        for (let i = 0; i < bytes; i++) acc = (acc << 8n) | BigInt(ctx.frame[at + i]);
        acc = (acc & ~mask) | ((value << up) & mask);
        const words = l4Words(ctx, at, bytes);
        for (let i = bytes - 1; i >= 0; i--, acc >>= 8n) ctx.frame[at + i] = Number(acc & 0xffn);
        fixL4Checksum(ctx, words);
      },
    };
  }
  const up = 2 ** trailing;
  const modulus = 2 ** bits;
  return {
    wide: false,
    bits,
    write: (ctx, value) => {
      if (!present(ctx, field)) return;
      const at = ctx.view.payloadOffset + byte;
      let acc = 0;
      for (let i = 0; i < bytes; i++) acc = acc * 256 + ctx.frame[at + i];
      const old = Math.floor(acc / up) % modulus;
      acc += ((value >>> 0) % modulus) * up - old * up;
      const words = l4Words(ctx, at, bytes);
      for (let i = bytes - 1; i >= 0; i--, acc = Math.floor(acc / 256)) ctx.frame[at + i] = acc % 256;
      fixL4Checksum(ctx, words);
    },
  };
}

/**
 * Tenant headers are L4 payload, covered by the TCP/UDP checksum: before a write, the 16-bit words (aligned to the
 * L4 header) the bytes `at` to `at + bytes` fall in, with their old values; `fixL4Checksum` then folds the
 * differences in (RFC 1624), so the receiving VM's stack does not drop the rewritten packet.
 */
function l4Words(ctx: PacketContext, at: number, bytes: number): number[] | undefined {
  if (!hasPorts(ctx)) return undefined;
  const l4 = ctx.view.l4Offset;
  const words: number[] = [];
  for (let word = at - ((at - l4) & 1); word < at + bytes; word += 2) {
    words.push(word, (ctx.frame[word] << 8) | (word + 1 < ctx.frame.length ? ctx.frame[word + 1] : 0));
  }
  return words;
}

function fixL4Checksum(ctx: PacketContext, words: number[] | undefined): void {
  if (words === undefined) return;
  const { frame, view } = ctx;
  const tcp = view.ipProtocol === IP_PROTOCOLS.tcp;
  const at = view.l4Offset + (tcp ? 16 : 6);
  if (!tcp && ((frame[at] << 8) | frame[at + 1]) === 0) return;
  for (let i = 0; i < words.length; i += 2) {
    const word = words[i];
    const now = (frame[word] << 8) | (word + 1 < frame.length ? frame[word + 1] : 0);
    adjustChecksum(frame, at, words[i + 1], now, !tcp);
  }
}

interface StandardAccess {
  readonly read: Value;
  readonly write?: Target;
}

function narrowStandard(
  bits: number,
  read: (ctx: PacketContext) => number,
  write?: (ctx: PacketContext, value: number) => void,
): StandardAccess {
  return { read: { wide: false, bits, read }, ...(write === undefined ? {} : { write: { wide: false, bits, write } }) };
}

/** Whether the frame has TCP or UDP ports (IPv4, first fragment, TCP or UDP): the ones FrameView parsed. */
/** A TCP/UDP port: read from the view, written into the L4 header (`at` bytes in) with the L4 checksum fixed. */
function l4PortField(port: 'srcPort' | 'dstPort', at: number): ReturnType<typeof narrowStandard> {
  return narrowStandard(
    16,
    (ctx) => ctx.view[port],
    (ctx, value) => {
      if (!hasPorts(ctx)) return;
      rewriteWord(ctx, ctx.view.l4Offset + at, value & 0xffff, false, true);
      ctx.view[port] = value & 0xffff;
    },
  );
}

function hasPorts(ctx: PacketContext): boolean {
  const view = ctx.view;
  return (
    view.ipv4 &&
    view.ipFragmentOffset === 0 &&
    (view.ipProtocol === IP_PROTOCOLS.tcp || view.ipProtocol === IP_PROTOCOLS.udp)
  );
}

/**
 * Replaces the 16-bit word at `at` and updates the checksums that cover it, incrementally (RFC 1624, eqn. 3):
 * the IPv4 header checksum when the word is in the IPv4 header, the TCP/UDP checksum when it is in the L4 header
 * or the pseudo-header (IPv4 addresses). A UDP checksum of 0 means "none" and stays 0.
 */
function rewriteWord(ctx: PacketContext, at: number, word: number, ipHeader: boolean, l4: boolean): void {
  const frame = ctx.frame;
  const old = (frame[at] << 8) | frame[at + 1];
  if (old === word) return;
  frame[at] = word >>> 8;
  frame[at + 1] = word & 0xff;
  if (ipHeader) adjustChecksum(frame, ctx.view.l3Offset + 10, old, word, false);
  if (l4 && hasPorts(ctx)) {
    const view = ctx.view;
    if (view.ipProtocol === IP_PROTOCOLS.tcp) adjustChecksum(frame, view.l4Offset + 16, old, word, false);
    else if (((frame[view.l4Offset + 6] << 8) | frame[view.l4Offset + 7]) !== 0) {
      adjustChecksum(frame, view.l4Offset + 6, old, word, true);
    }
  }
}

function adjustChecksum(frame: Buffer, at: number, old: number, word: number, udp: boolean): void {
  let sum = (~((frame[at] << 8) | frame[at + 1]) & 0xffff) + (~old & 0xffff) + word;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  let checksum = ~sum & 0xffff;
  if (udp && checksum === 0) checksum = 0xffff;
  frame[at] = checksum >>> 8;
  frame[at + 1] = checksum & 0xff;
}

function writeIpv4Address(ctx: PacketContext, at: number, value: number): void {
  rewriteWord(ctx, at, value >>> 16, true, true);
  rewriteWord(ctx, at + 2, value & 0xffff, true, true);
}

function macAccess(at: number, side: 'src' | 'dst'): StandardAccess {
  const read: WideRead =
    side === 'src'
      ? (ctx) => (BigInt(ctx.view.srcMacHi) << 32n) | BigInt(ctx.view.srcMacLo)
      : (ctx) => (BigInt(ctx.view.dstMacHi) << 32n) | BigInt(ctx.view.dstMacLo);
  const write = (ctx: PacketContext, value: bigint): void => {
    const hi = Number((value >> 32n) & 0xffffn);
    const lo = Number(value & 0xffffffffn);
    ctx.frame.writeUInt16BE(hi, at);
    ctx.frame.writeUInt32BE(lo, at + 2);
    if (side === 'src') {
      ctx.view.srcMacHi = hi;
      ctx.view.srcMacLo = lo;
    } else {
      ctx.view.dstMacHi = hi;
      ctx.view.dstMacLo = lo;
    }
  };
  return { read: { wide: true, bits: 48, read }, write: { wide: true, bits: 48, write } };
}

/** STANDARD_FIELDS (program-fields.ts) with where each lives in the frame. */
const STANDARD: Readonly<Record<string, StandardAccess>> = {
  'eth.dst': macAccess(0, 'dst'),
  'eth.src': macAccess(6, 'src'),
  'eth.type': narrowStandard(16, (ctx) => ctx.view.etherType),
  'ipv4.src': narrowStandard(
    32,
    (ctx) => ctx.view.ipSrc,
    (ctx, value) => {
      if (!ctx.view.ipv4) return;
      writeIpv4Address(ctx, ctx.view.l3Offset + 12, value >>> 0);
      ctx.view.ipSrc = value >>> 0;
    },
  ),
  'ipv4.dst': narrowStandard(
    32,
    (ctx) => ctx.view.ipDst,
    (ctx, value) => {
      if (!ctx.view.ipv4) return;
      writeIpv4Address(ctx, ctx.view.l3Offset + 16, value >>> 0);
      ctx.view.ipDst = value >>> 0;
    },
  ),
  'ipv4.proto': narrowStandard(8, (ctx) => ctx.view.ipProtocol),
  'ipv4.ttl': narrowStandard(
    8,
    (ctx) => ctx.view.ttl,
    (ctx, value) => {
      if (!ctx.view.ipv4) return;
      const at = ctx.view.l3Offset + 8;
      rewriteWord(ctx, at, ((value & 0xff) << 8) | ctx.frame[at + 1], true, false);
      ctx.view.ttl = value & 0xff;
    },
  ),
  'ipv4.dscp': narrowStandard(
    6,
    (ctx) => ctx.view.ipDscp,
    (ctx, value) => {
      if (!ctx.view.ipv4) return;
      const at = ctx.view.l3Offset;
      const tos = ((value & 0x3f) << 2) | (ctx.frame[at + 1] & 0x03);
      rewriteWord(ctx, at, (ctx.frame[at] << 8) | tos, true, false);
      ctx.view.ipDscp = value & 0x3f;
    },
  ),
  'l4.sport': l4PortField('srcPort', 0),
  'l4.dport': l4PortField('dstPort', 2),
  'tcp.flags': narrowStandard(8, (ctx) => ctx.view.tcpFlags),
  'std.in_port': narrowStandard(16, (ctx) => ctx.inPort & 0xffff),
  'std.length': narrowStandard(16, (ctx) => ctx.view.length & 0xffff),
};
