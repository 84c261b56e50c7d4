import type { ObjectShape } from './program.constants';

/**
 * Reads untrusted JSON while collecting every problem as `path: message`, instead of stopping at the first.
 * Readers return `undefined` when a value is absent or wrong; absence of a required property is reported once, by
 * `readObject`, so the property readers stay silent about it.
 */
export class ProblemList {
  private readonly items: string[] = [];

  add(path: string, message: string): void {
    this.items.push(`${path === '' ? 'document' : path}: ${message}`);
  }

  get count(): number {
    return this.items.length;
  }

  toArray(): string[] {
    return [...this.items];
  }
}

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const shown = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? shown : `${path}.${shown}`;
}

/** What a value is, in JSON's terms, for "expected X, got Y". */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * A value from the document, for a message: numbers, names and operators as they are, anything else quoted and cut
 * short, so a hostile document cannot make messages huge, multi-line or ambiguous.
 */
export function show(value: unknown): string {
  // Stryker disable next-line ConditionalExpression,StringLiteral: JSON.stringify of a finite number (all a JSON document holds) is String of it, and no number is over 40 characters
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' && /^[\w.:<>=!&|^+*/%~$@#-]{1,64}$/.test(value)) return value;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export function has(record: JsonObject, key: string): boolean {
  return Object.hasOwn(record, key);
}

/** Checks that `value` is an object with the shape's required properties and no others. */
export function readObject(
  value: unknown,
  path: string,
  shape: ObjectShape,
  problems: ProblemList,
): JsonObject | undefined {
  if (!isJsonObject(value)) {
    problems.add(path, `expected an object, got ${jsonType(value)}`);
    return undefined;
  }
  const allowed = [...shape.required, ...shape.optional];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      problems.add(childPath(path, key), `unknown property (allowed: ${allowed.join(', ')})`);
    }
  }
  for (const key of shape.required) {
    if (!has(value, key)) problems.add(childPath(path, key), 'required property is missing');
  }
  return value;
}

export function readString(record: JsonObject, key: string, path: string, problems: ProblemList): string | undefined {
  if (!has(record, key)) return undefined;
  const value = record[key];
  if (typeof value === 'string') return value;
  problems.add(childPath(path, key), `expected a string, got ${jsonType(value)}`);
  return undefined;
}

export function readInteger(
  record: JsonObject,
  key: string,
  path: string,
  problems: ProblemList,
  range: { min: number; max: number },
): number | undefined {
  if (!has(record, key)) return undefined;
  const value = record[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    problems.add(childPath(path, key), `expected an integer, got ${jsonType(value)}`);
    return undefined;
  }
  if (value < range.min || value > range.max) {
    problems.add(childPath(path, key), `${value} is out of range: expected ${range.min} to ${range.max}`);
    return undefined;
  }
  return value;
}

export function readEnum<T extends string | number>(
  record: JsonObject,
  key: string,
  path: string,
  problems: ProblemList,
  allowed: readonly T[],
): T | undefined {
  if (!has(record, key)) return undefined;
  const value = record[key];
  const kind = typeof allowed[0] === 'number' ? 'integer' : 'string';
  const rightType = kind === 'integer' ? Number.isInteger(value) : typeof value === 'string';
  if (!rightType) {
    problems.add(
      childPath(path, key),
      `expected ${kind === 'integer' ? 'an integer' : 'a string'}, got ${jsonType(value)}`,
    );
    return undefined;
  }
  if (!(allowed as readonly unknown[]).includes(value)) {
    problems.add(childPath(path, key), `${show(value)} is not one of ${allowed.join(', ')}`);
    return undefined;
  }
  return value as T;
}

/** An array of at most `limits.max` items (and at least `limits.min`, default 0). */
export function readArray(
  record: JsonObject,
  key: string,
  path: string,
  problems: ProblemList,
  limits: { min?: number; max: number },
): unknown[] | undefined {
  if (!has(record, key)) return undefined;
  const raw = record[key];
  if (!Array.isArray(raw)) {
    problems.add(childPath(path, key), `expected an array, got ${jsonType(raw)}`);
    return undefined;
  }
  const value: unknown[] = raw;
  const min = limits.min ?? 0;
  if (value.length < min) {
    problems.add(childPath(path, key), `needs at least ${min} item${min === 1 ? '' : 's'}`);
  }
  if (value.length > limits.max) {
    problems.add(childPath(path, key), `${value.length} items exceed the limit of ${limits.max}`);
  }
  return value;
}
