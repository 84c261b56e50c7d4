import { ipv4ToString, tryParseIpv4 } from '../packet/addresses';
import { parseConstant } from './program-widths';

/** The standard fields that hold an IPv4 address: people write their values as dotted quads. */
export const IPV4_ADDRESS_FIELDS: readonly string[] = ['ipv4.src', 'ipv4.dst'];

/** A dotted quad ("10.0.0.1") as a constant; undefined for anything else. */
function dottedIpv4(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !value.includes('.')) return undefined;
  const parsed = tryParseIpv4(value);
  return typeof parsed === 'number' ? BigInt(parsed) : undefined;
}

/**
 * A table key's value or mask for `field`: any constant (parseConstant), and for an IPv4 address field also a dotted
 * quad, as people write addresses (`"10.0.0.1"`, a mask `"255.255.255.0"`). Undefined for anything else.
 */
export function parseFieldConstant(field: string, value: unknown): bigint | undefined {
  return parseConstant(value) ?? (IPV4_ADDRESS_FIELDS.includes(field) ? dottedIpv4(value) : undefined);
}

/** A constant or a dotted IPv4 address: what a key match may hold before the table (and so its field) is known. */
export function parseConstantOrAddress(value: unknown): bigint | undefined {
  return parseConstant(value) ?? dottedIpv4(value);
}

/** A reported field's value as people read it: an IPv4 address field as a dotted quad, anything else as it is. */
export function reportedFieldValue(field: string, value: number | string): number | string {
  return IPV4_ADDRESS_FIELDS.includes(field) && typeof value === 'number' ? ipv4ToString(value) : value;
}

/** Whether `value` is a dotted IPv4 address ("10.0.0.1"): how program events carry IPv4 address fields. */
export function isDottedIpv4(value: unknown): boolean {
  return dottedIpv4(value) !== undefined;
}
