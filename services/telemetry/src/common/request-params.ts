import { ValidationError } from '@tenantlab/shared';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

/** `?limit=`: how many of the newest items to show, 100 unless given. */
export function limitParam(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ValidationError(`limit must be a whole number from 1 to ${MAX_LIMIT}`, [`limit: got ${raw}`]);
  }
  return limit;
}
