import { ID_PATTERN } from '../lab/lab-topology';
import { parseJsonObject, type ParseResult } from './parse-message';

/** One tenant in a decision: the slots it held in the window, its utility there, and the slots it gets next. */
export interface DecidedShare {
  tenant: string;
  utility: number;
  slotsBefore: number;
  slotsAfter: number;
}

/**
 * One run of the allocator's utility policy, on `allocator.decisions` (keyed by `allocator`): what it read (one
 * switch window's reports) and what it decided. Its headers carry the trace context of the decision's span, which is
 * linked to the spans of the reports it used. `pipelineVersion` is the pipeline version that carries the new
 * linking; null when nothing was re-linked (static mode, or the shares did not change).
 */
export interface ReallocationDecisionMessage {
  /** Counts the allocator's decisions from its start. */
  decision: number;
  mode: 'live' | 'static';
  /** The switch window whose reports it used. */
  window: number;
  /** Epoch milliseconds when the decision was committed (or, without a re-link, made). */
  decidedAtMs: number;
  /** The slots the policy shared out among these tenants. */
  capacitySlots: number;
  pipelineVersion: number | null;
  shares: DecidedShare[];
}

/** A decision of 1024 tenants is about 100 KiB; the bound leaves room and refuses anything stranger. */
export const MAX_DECISION_BYTES = 256 * 1024;
export const MAX_DECISION_SHARES = 1024;

function wholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function shareProblem(share: unknown, at: number): string | undefined {
  if (typeof share !== 'object' || share === null || Array.isArray(share)) return `shares[${at}]: expected an object`;
  const s = share as Record<string, unknown>;
  if (typeof s['tenant'] !== 'string' || !ID_PATTERN.test(s['tenant']))
    return `shares[${at}].tenant: expected a tenant id`;
  if (typeof s['utility'] !== 'number' || !(s['utility'] >= 0 && s['utility'] <= 1)) {
    return `shares[${at}].utility: expected a number from 0 to 1`;
  }
  for (const field of ['slotsBefore', 'slotsAfter'] as const) {
    if (!wholeNumber(s[field]) || s[field] < 1) return `shares[${at}].${field}: expected a whole number from 1`;
  }
  return undefined;
}

/** Validates one value from `allocator.decisions`, naming the first thing wrong with anything else. */
export function parseReallocationDecision(value: Buffer | null): ParseResult<ReallocationDecisionMessage> {
  const parsed = parseJsonObject(value, MAX_DECISION_BYTES);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  for (const field of ['decision', 'window', 'decidedAtMs', 'capacitySlots'] as const) {
    if (!wholeNumber(m[field])) return { ok: false, reason: `${field}: expected a whole number, 0 or more` };
  }
  if (m['mode'] !== 'live' && m['mode'] !== 'static') return { ok: false, reason: 'mode: expected live or static' };
  const version = m['pipelineVersion'];
  if (version !== null && (!wholeNumber(version) || version < 1)) {
    return { ok: false, reason: 'pipelineVersion: expected null or a whole number from 1' };
  }
  const shares = m['shares'];
  if (!Array.isArray(shares) || shares.length > MAX_DECISION_SHARES) {
    return { ok: false, reason: `shares: expected an array of at most ${MAX_DECISION_SHARES}` };
  }
  for (const [at, share] of shares.entries()) {
    const problem = shareProblem(share, at);
    if (problem !== undefined) return { ok: false, reason: problem };
  }
  return { ok: true, value: m as unknown as ReallocationDecisionMessage };
}
