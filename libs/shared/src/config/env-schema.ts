import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';

/**
 * One variable's rule: how to turn the raw string into a typed value, and what to say when it cannot.
 * Parsers return `undefined` for invalid input so that the error text comes only from `expects`,
 * which never contains the value (values may be secrets).
 */
export interface EnvVar<T> {
  readonly expects: string;
  readonly defaultValue?: T;
  readonly optional?: boolean;
  readonly parse: (raw: string) => T | undefined;
}

export type EnvSchema = Record<string, EnvVar<unknown>>;
export type ConfigOf<S extends EnvSchema> = { readonly [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

interface Rule<T> {
  expects: string;
  readonly parse: (raw: string) => T | undefined;
}

function variable<T>(rule: Rule<T>, options: { default?: T; optional?: boolean } = {}): EnvVar<T> {
  const expects = options.default === undefined ? rule.expects : `${rule.expects} (default ${String(options.default)})`;
  return { expects, parse: rule.parse, defaultValue: options.default, optional: options.optional };
}

export const env = {
  string(options: { default?: string; pattern?: RegExp; describe?: string } = {}): EnvVar<string> {
    const expects =
      options.describe ?? (options.pattern ? `a string matching ${options.pattern}` : 'a non-empty string');
    return variable(
      {
        expects,
        parse: (raw) => (raw.length > 0 && (!options.pattern || options.pattern.test(raw)) ? raw : undefined),
      },
      options,
    );
  },

  port(options: { default?: number } = {}): EnvVar<number> {
    return variable(
      { expects: 'a TCP port, an integer from 1 to 65535', parse: (raw) => parseInteger(raw, 1, 65535) },
      options,
    );
  },

  integer(options: { default?: number; min?: number; max?: number } = {}): EnvVar<number> {
    const min = options.min ?? Number.MIN_SAFE_INTEGER;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    const range = options.max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
    return variable({ expects: `an integer ${range}`, parse: (raw) => parseInteger(raw, min, max) }, options);
  },

  /** A decimal number in a closed range, such as a sampling rate from 0 to 1. */
  number(options: { default?: number; min: number; max: number }): EnvVar<number> {
    const parse = (raw: string): number | undefined => {
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw.trim())) return undefined;
      const value = Number(raw);
      return value >= options.min && value <= options.max ? value : undefined;
    };
    return variable({ expects: `a number from ${options.min} to ${options.max}`, parse }, options);
  },

  url(options: { default?: string; protocols: string[] }): EnvVar<string> {
    const expects = `a URL starting with ${options.protocols.map((p) => `${p}//`).join(' or ')}`;
    return variable({ expects, parse: (raw) => (isUrlWith(raw, options.protocols) ? raw : undefined) }, options);
  },

  /** Comma-separated `host:port` list, the form kafkajs takes for brokers. */
  hostPorts(options: { default?: string } = {}): EnvVar<string[]> {
    const parse = (raw: string): string[] | undefined => {
      const items = raw.split(',').map((s) => s.trim());
      return items.every((item) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(item)) ? items : undefined;
    };
    return {
      expects: `a comma-separated list of host:port${options.default ? ` (default ${options.default})` : ''}`,
      parse,
      defaultValue: options.default === undefined ? undefined : parse(options.default),
    };
  },

  oneOf<T extends string>(values: readonly T[], options: { default?: T } = {}): EnvVar<T> {
    return variable({ expects: `one of ${values.join(', ')}`, parse: (raw) => values.find((v) => v === raw) }, options);
  },
};

function parseInteger(raw: string, min: number, max: number): number | undefined {
  if (!/^-?\d+$/.test(raw.trim())) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}

function isUrlWith(raw: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}

/** Reads a `<NAME>_FILE` variable's file (injectable so tests need no real files). */
export type SecretFileReader = (path: string) => string;

const readSecretFile: SecretFileReader = (path) => readFileSync(path, 'utf8');

/**
 * Reads every variable of the schema from `source` and returns the typed config, or throws a ConfigError for the
 * first variable (in schema order) that is missing or invalid.
 *
 * Any variable may instead come from a file (the common `_FILE` convention, which Docker secrets follow): when
 * `<NAME>_FILE` is set, the value is that file's content, trimmed. Setting both, or naming a file that cannot be read
 * or is empty, is a ConfigError naming `<NAME>_FILE` (and never the content).
 */
export function parseEnv<S extends EnvSchema>(
  schema: S,
  source: Record<string, string | undefined>,
  readFile: SecretFileReader = readSecretFile,
): ConfigOf<S> {
  const result: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(schema)) {
    const raw = rawValue(name, source, readFile);
    if (raw === undefined || raw === '') {
      if (rule.defaultValue !== undefined) {
        result[name] = rule.defaultValue;
        continue;
      }
      if (rule.optional) continue;
      throw new ConfigError(name, `is required: set it to ${rule.expects}`);
    }
    const value = rule.parse(raw);
    if (value === undefined) throw new ConfigError(name, `is invalid: expected ${rule.expects}`);
    result[name] = value;
  }
  return result as ConfigOf<S>;
}

/** `name`'s raw value: from `<name>_FILE`'s file when that is set, else from `name` itself. */
function rawValue(
  name: string,
  source: Record<string, string | undefined>,
  readFile: SecretFileReader,
): string | undefined {
  const fileVariable = `${name}_FILE`;
  const file = source[fileVariable];
  if (file === undefined || file === '') return source[name];
  if (source[name] !== undefined && source[name] !== '') {
    throw new ConfigError(fileVariable, `and ${name} are both set: set only one of them`);
  }
  let content: string;
  try {
    content = readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(fileVariable, `names ${file}, which cannot be read (${code}): set it to a readable file`);
  }
  const value = content.trim();
  if (value === '') throw new ConfigError(fileVariable, `names ${file}, which is empty: it must hold ${name}`);
  return value;
}
