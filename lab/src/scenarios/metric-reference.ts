import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import type { MetricReference } from './scenario';

/** A metric's reference as found beside one run: its value, or why there is none (`note`). */
export interface ReferenceFigure {
  label: string;
  file: string;
  value: number | null;
  /** The metric less the reference, rounded to 3 decimals; null when either is missing. */
  difference: number | null;
  within?: number;
  /** Whether |difference| <= within (undefined without `within` or a difference). */
  met?: boolean;
  /** Why the reference was not compared: the file missing or unreadable, the key absent, another seed. */
  note?: string;
}

/**
 * Reads `reference` for a metric measured as `value` on `seed`: a number in a JSON file of the repository (another
 * benchmark's results, so it is only as fresh as that file). It counts only when it was measured on the same seed;
 * otherwise, or when the file is missing or does not hold the key, the note says what to run.
 */
export function readReference(
  reference: MetricReference,
  value: number | null,
  seed: number,
  repoRoot: string,
): ReferenceFigure {
  const base = { label: reference.label, file: reference.file, ...pick(reference.within) };
  const unread = (note: string): ReferenceFigure => ({ ...base, value: null, difference: null, note });
  const path = resolve(repoRoot, reference.file);
  if (relative(repoRoot, path).startsWith(`..${sep}`)) return unread(`${reference.file} is outside the repository`);
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return unread(
      missing ? `${reference.file} not found: ${reference.label}` : `${reference.file} is not JSON: ${String(error)}`,
    );
  }
  const found = numberAt(document, reference.key);
  if (found === undefined) return unread(`${reference.file} has no number at ${reference.key}`);
  if (reference.seedKey !== undefined) {
    const measuredOn = numberAt(document, reference.seedKey);
    if (measuredOn !== seed) {
      return unread(`${reference.file} was measured on seed ${String(measuredOn)}, this run on ${seed}`);
    }
  }
  const difference = value === null ? null : Math.round((value - found) * 1000) / 1000;
  const met =
    reference.within === undefined || difference === null ? undefined : Math.abs(difference) <= reference.within;
  return { ...base, value: found, difference, ...(met === undefined ? {} : { met }) };
}

function pick(within: number | undefined): { within?: number } {
  return within === undefined ? {} : { within };
}

/** The number at a dotted path (`metrics.x`), or undefined. */
function numberAt(document: unknown, key: string): number | undefined {
  let at: unknown = document;
  for (const part of key.split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}
