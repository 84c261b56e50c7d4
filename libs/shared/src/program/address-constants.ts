import { ipv4ToString, tryParseIpv4 } from '../packet/addresses';
import { parseConstant } from './program-widths';

/** The standard fields that hold an IPv4 address: people write their values as dotted quads. */
export const IPV4_ADDRESS_FIELDS: readonly string[] = ['ipv4.src', 'ipv4.dst'];

/** The standard fields that hold a MAC address: people write their values with colons. */
export const MAC_ADDRESS_FIELDS: readonly string[] = ['eth.src', 'eth.dst'];

const COLON_MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** A MAC address with colons ("02:00:00:00:00:01") as a constant; undefined for anything else. */
function colonMac(value: unknown): bigint | undefined {
  return typeof value === 'string' && COLON_MAC.test(value) ? BigInt(`0x${value.replaceAll(':', '')}`) : undefined;
}

/** A 48-bit value as people write a MAC address: six colon-separated pairs of lower-case hex digits. */
function macToString(value: bigint): string {
  return (value & 0xffff_ffff_ffffn)
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
}

/** A dotted quad ("10.0.0.1") as a constant; undefined for anything else. */
function dottedIpv4(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !value.includes('.')) return undefined;
  const parsed = tryParseIpv4(value);
  return typeof parsed === 'number' ? BigInt(parsed) : undefined;
}

/**
 * A table key's value or mask for `field`: any constant (parseConstant), for an IPv4 address field also a dotted
 * quad (`"10.0.0.1"`, a mask `"255.255.255.0"`), for a MAC address field also six colon-separated hex pairs
 * (`"02:00:00:00:00:01"`), as people write addresses. Undefined for anything else.
 */
export function parseFieldConstant(field: string, value: unknown): bigint | undefined {
  return (
    parseConstant(value) ??
    (IPV4_ADDRESS_FIELDS.includes(field) ? dottedIpv4(value) : undefined) ??
    (MAC_ADDRESS_FIELDS.includes(field) ? colonMac(value) : undefined)
  );
}

/**
 * A constant or an address (dotted IPv4, MAC with colons): what a key match may hold before the table (and so its
 * field) is known, and what an action's argument may be (a param has a width, not a field).
 */
export function parseConstantOrAddress(value: unknown): bigint | undefined {
  return parseConstant(value) ?? dottedIpv4(value) ?? colonMac(value);
}

/**
 * A reported field's value as people read it: an IPv4 address field as a dotted quad, a MAC address field with
 * colons, anything else as it is.
 */
export function reportedFieldValue(field: string, value: number | string): number | string {
  if (IPV4_ADDRESS_FIELDS.includes(field) && typeof value === 'number') return ipv4ToString(value);
  if (MAC_ADDRESS_FIELDS.includes(field) && parseConstant(value) !== undefined) {
    return macToString(BigInt(value));
  }
  return value;
}

/**
 * Whether `value` is an address as program events carry address fields: a dotted IPv4 address ("10.0.0.1") or a MAC
 * address with colons ("02:00:00:00:00:01").
 */
export function isAddressLiteral(value: unknown): boolean {
  return dottedIpv4(value) !== undefined || colonMac(value) !== undefined;
}
