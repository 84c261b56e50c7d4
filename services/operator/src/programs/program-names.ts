import { NAME_PATTERN, ValidationError } from '@tenantlab/shared';

/** Table, register, counter and action names: the program schema's NAME_PATTERN. */
export const PROGRAM_NAME_PATTERN = NAME_PATTERN;
export const PROGRAM_NAME_RULE = '1-32 characters of a-z, 0-9 and _, starting with a letter';

/** A name from the path (`table`, `register`, `counter`), or a 400 naming the param. */
export function programName(param: string, value: string): string {
  if (!PROGRAM_NAME_PATTERN.test(value)) {
    throw new ValidationError(`${param} is invalid: it must be ${PROGRAM_NAME_RULE}`, [
      `${param}: must be ${PROGRAM_NAME_RULE}`,
    ]);
  }
  return value;
}

/** A cell index from the path, or a 400 naming the param. */
export function cellIndex(param: string, value: string): number {
  const index = /^[0-9]{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(index)) {
    throw new ValidationError(`${param} is invalid: it must be a non-negative integer`, [
      `${param}: must be a non-negative integer`,
    ]);
  }
  return index;
}
