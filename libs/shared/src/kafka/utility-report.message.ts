import { ID_PATTERN } from '../lab/lab-topology';
import { parseJsonObject, type ParseResult } from './parse-message';

/**
 * One tenant program's utility over one switch window, on `allocator.utility-reports` (keyed by tenant): seed 004's
 * "utility calculator" input. Utility is the memory hit ratio, 1 - misses / packets, of a program that declares the
 * `packets` and `misses` counters (programs/flow-table.json: per-source counts for heavy-hitter detection). The
 * record's headers carry the trace context of the switch span that measured it.
 */
export interface UtilityReportMessage {
  tenant: string;
  /** The program's name, as linked. */
  program: string;
  /** The switch's window number (from its start): every tenant's report of one window has the same one. */
  window: number;
  /** Epoch milliseconds when the window closed, and its length. */
  windowEndMs: number;
  windowMs: number;
  /** Entries each traded register of the program held during the window (the policy's slots). */
  slots: number;
  /** Packets the program saw and missed in the window, from its `packets` and `misses` counters. */
  packets: number;
  misses: number;
  /** 1 - misses / packets, 0 to 1; 1 for a window without packets (nothing was missed). */
  utility: number;
  /** The pipeline version the counts ran under, and epoch milliseconds when the switch installed it. */
  pipelineVersion: number;
  installedAtMs: number;
}

/**
 * Seed 004's target: a window satisfies its tenant when the report's utility is above this. The allocator's policy
 * aims at it by default, and the lab's satisfaction figure (issue 12: windows with utility > 0.9) counts by it.
 */
export const SATISFIED_UTILITY = 0.9;

/** A report is a dozen short fields; anything near this is not one. */
export const MAX_UTILITY_REPORT_BYTES = 4 * 1024;
/** The program schema's name rule. */
const PROGRAM_NAME = /^[a-z][a-z0-9_]{0,31}$/;

function wholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Validates one value from `allocator.utility-reports`, naming the first thing wrong with anything else. */
export function parseUtilityReport(value: Buffer | null): ParseResult<UtilityReportMessage> {
  const parsed = parseJsonObject(value, MAX_UTILITY_REPORT_BYTES);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  if (typeof m['tenant'] !== 'string' || !ID_PATTERN.test(m['tenant'])) {
    return { ok: false, reason: 'tenant: expected a tenant id' };
  }
  if (typeof m['program'] !== 'string' || !PROGRAM_NAME.test(m['program'])) {
    return { ok: false, reason: 'program: expected a program name of a-z, 0-9 and _' };
  }
  for (const field of ['window', 'windowEndMs', 'windowMs', 'packets', 'misses', 'installedAtMs'] as const) {
    if (!wholeNumber(m[field])) return { ok: false, reason: `${field}: expected a whole number, 0 or more` };
  }
  if (!wholeNumber(m['slots']) || m['slots'] < 1) return { ok: false, reason: 'slots: expected a whole number from 1' };
  if (!wholeNumber(m['pipelineVersion']) || m['pipelineVersion'] < 1) {
    return { ok: false, reason: 'pipelineVersion: expected a whole number from 1' };
  }
  if ((m['misses'] as number) > (m['packets'] as number)) {
    return { ok: false, reason: 'misses: expected at most packets' };
  }
  const utility = m['utility'];
  if (typeof utility !== 'number' || !(utility >= 0 && utility <= 1)) {
    return { ok: false, reason: 'utility: expected a number from 0 to 1' };
  }
  return { ok: true, value: m as unknown as UtilityReportMessage };
}

/** The utility of a window's counts: the hit ratio, and 1 when there was nothing to hit or miss. */
export function hitRatio(packets: number, misses: number): number {
  return packets === 0 ? 1 : 1 - misses / packets;
}
