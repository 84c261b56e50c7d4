import { ValidationError } from '../errors';

// Text forms for humans, tests and tools; the hot path keeps addresses as numbers (see FrameView).

const MAC_PATTERN = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i;
// Decimal octets without leading zeros: some parsers read `010` as octal, so it is refused rather than guessed.
const IPV4_PATTERN = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** Quotes user input for an error message, cut short so a huge value cannot flood a log. */
function quote(text: unknown): string {
  const shown = typeof text === 'string' ? text : String(text);
  return JSON.stringify(shown.length > 40 ? `${shown.slice(0, 40)}...` : shown);
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** The problem with `text` as a MAC address, or the address as two numbers (the FrameView split). */
export function tryParseMac(text: string): { hi: number; lo: number } | string {
  const match = typeof text === 'string' ? MAC_PATTERN.exec(text) : null;
  if (!match) return `${quote(text)} is not a MAC address: expected six hex pairs with colons, like 02:00:00:00:00:01`;
  const b = match.slice(1).map((pair) => parseInt(pair, 16));
  return { hi: (b[0] << 8) | b[1], lo: ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0 };
}

/** The problem with `text` as an IPv4 address, or the address as an unsigned 32-bit number. */
export function tryParseIpv4(text: string): number | string {
  const match = typeof text === 'string' ? IPV4_PATTERN.exec(text) : null;
  const octets = match ? match.slice(1).map(Number) : [];
  if (!match || octets.some((octet) => octet > 255)) {
    return `${quote(text)} is not an IPv4 address: expected a dotted quad of 0-255, no leading zeros, like 10.0.0.1`;
  }
  return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

/** `aa:bb:cc:dd:ee:ff` (either case) as FrameView's `hi` (upper 16 bits) and `lo` (lower 32 bits, unsigned). */
export function parseMac(text: string): { hi: number; lo: number } {
  const parsed = tryParseMac(text);
  if (typeof parsed === 'string') throw new ValidationError(`Invalid MAC address: ${parsed}`, [parsed]);
  return parsed;
}

/** Lowercase `aa:bb:cc:dd:ee:ff` from FrameView's `hi` and `lo` halves. */
export function macToString(hi: number, lo: number): string {
  return [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff].map(hex2).join(':');
}

/** A dotted quad as an unsigned 32-bit number. */
export function parseIpv4(text: string): number {
  const parsed = tryParseIpv4(text);
  if (typeof parsed === 'string') throw new ValidationError(`Invalid IPv4 address: ${parsed}`, [parsed]);
  return parsed;
}

/** An unsigned (or signed) 32-bit number as a dotted quad. */
export function ipv4ToString(address: number): string {
  return `${(address >>> 24) & 0xff}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}
