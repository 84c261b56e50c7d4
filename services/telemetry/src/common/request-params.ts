import { ID_PATTERN, ValidationError } from '@tenantlab/shared';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

/** A tenant id from the path, or a 400 saying what one looks like. */
export function tenantParam(tenant: string): string {
  if (!ID_PATTERN.test(tenant)) {
    throw new ValidationError('tenant is invalid: expected 1-63 characters of a-z, 0-9 and -', ['tenant: invalid id']);
  }
  return tenant;
}

/** `?limit=`: how many of the newest items to show, 100 unless given. */
export function limitParam(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ValidationError(`limit must be a whole number from 1 to ${MAX_LIMIT}`, [`limit: got ${raw}`]);
  }
  return limit;
}
