import { ID_PATTERN } from '../lab/lab-topology';
import { ValidationError } from './domain.error';

/** A VM or tenant id from a request path, or a 400 naming the parameter and what an id looks like. */
export function idParam(name: string, value: string): string {
  if (!ID_PATTERN.test(value)) {
    throw new ValidationError(
      `${name} is invalid: expected 1-63 characters of a-z, 0-9 and -, starting with a letter or digit`,
      [`${name}: invalid id`],
    );
  }
  return value;
}
