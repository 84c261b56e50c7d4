import { ID_PATTERN } from '../lab/lab-topology';
import { isAddressLiteral } from '../program/address-constants';
import { parseJsonObject, type ParseResult } from './parse-message';

/** An event a tenant program's `report` op published to `switch.program-events` (keyed by tenant). */
export interface ProgramEventMessage {
  tenant: string;
  /** The event name the program gave, such as `heavy_hitter`. */
  event: string;
  /**
   * The reported fields by reference (`ipv4.src`, `meta.c0`): numbers up to 32 bits, decimal strings above; IPv4
   * address fields (`ipv4.src`, `ipv4.dst`) as dotted quads (`"10.0.0.1"`), MAC address fields (`eth.src`, `eth.dst`)
   * with colons (`"02:00:00:00:00:01"`), or as numbers from older switches.
   */
  fields: Record<string, number | string>;
  /** Epoch microseconds when the switch ran the op. */
  timestampUs: number;
}

/** An event carries a handful of fields; anything near this is not one. */
export const MAX_PROGRAM_EVENT_BYTES = 16 * 1024;
const EVENT_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const DECIMAL = /^[0-9]{1,39}$/;

/** Validates one value from `switch.program-events`, naming the first thing wrong with anything else. */
export function parseProgramEvent(value: Buffer | null): ParseResult<ProgramEventMessage> {
  const parsed = parseJsonObject(value, MAX_PROGRAM_EVENT_BYTES);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  if (typeof m['tenant'] !== 'string' || !ID_PATTERN.test(m['tenant'])) {
    return { ok: false, reason: 'tenant: expected a tenant id' };
  }
  if (typeof m['event'] !== 'string' || !EVENT_NAME.test(m['event'])) {
    return { ok: false, reason: 'event: expected a name of a-z, 0-9 and _' };
  }
  if (typeof m['timestampUs'] !== 'number' || !Number.isSafeInteger(m['timestampUs']) || m['timestampUs'] < 0) {
    return { ok: false, reason: 'timestampUs: expected epoch microseconds' };
  }
  const fields = m['fields'];
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    return { ok: false, reason: 'fields: expected an object' };
  }
  for (const [name, field] of Object.entries(fields)) {
    const ok =
      (typeof field === 'number' && Number.isSafeInteger(field) && field >= 0) ||
      (typeof field === 'string' && (DECIMAL.test(field) || isAddressLiteral(field)));
    if (!ok) {
      return {
        ok: false,
        reason: `fields.${name}: expected an unsigned integer (a number or decimal string), a dotted IPv4 address or a MAC address with colons`,
      };
    }
  }
  return { ok: true, value: m as unknown as ProgramEventMessage };
}
