/**
 * A small evaluator for the part of JSON Schema draft 2020-12 the scenario schema uses, so the lab needs no schema
 * library (the workspace's ajv is a draft-07 one, pulled in by eslint). Every problem is reported with its path
 * (`timeline[2].atMs: ...`), all at once, in the order found. A schema keyword it does not know is refused when the
 * schema is checked (`assertSupportedSchema`), so the schema cannot say more than is enforced.
 */
export type JsonSchema = { readonly [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'examples', 'default', '$defs']);
const ASSERTIONS = new Set([
  '$ref',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'minProperties',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minLength',
  'maxLength',
  'pattern',
  'allOf',
  'oneOf',
  'if',
  'then',
  'else',
  'prefixItems',
]);

/** Throws naming the first keyword the evaluator would ignore. */
export function assertSupportedSchema(schema: unknown, path = '#'): void {
  if (typeof schema === 'boolean') return;
  if (typeof schema !== 'object' || schema === null) throw new Error(`${path}: a schema must be an object`);
  for (const [keyword, value] of Object.entries(schema)) {
    if (!ANNOTATIONS.has(keyword) && !ASSERTIONS.has(keyword))
      throw new Error(`${path}: unsupported keyword ${keyword}`);
    if (keyword === 'properties' || keyword === '$defs') {
      for (const [name, sub] of Object.entries(value as object))
        assertSupportedSchema(sub, `${path}/${keyword}/${name}`);
    } else if (['items', 'additionalProperties', 'if', 'then', 'else'].includes(keyword)) {
      assertSupportedSchema(value, `${path}/${keyword}`);
    } else if (['allOf', 'oneOf', 'prefixItems'].includes(keyword)) {
      (value as unknown[]).forEach((sub, i) => assertSupportedSchema(sub, `${path}/${keyword}/${i}`));
    }
  }
}

/** The problems of `value` against `schema` (empty when it is valid), each `path: what is wrong`. */
export function validateJson(schema: JsonSchema, value: unknown): string[] {
  const problems: string[] = [];
  check(schema, schema, value, '', problems);
  return problems;
}

function check(root: JsonSchema, schema: unknown, value: unknown, path: string, problems: string[]): void {
  if (schema === true) return;
  if (schema === false) {
    problems.push(`${label(path)}: not allowed here`);
    return;
  }
  const s = schema as JsonSchema;
  const say = (message: string): void => void problems.push(`${label(path)}: ${message}`);
  if (typeof s['$ref'] === 'string') check(root, resolveRef(root, s['$ref']), value, path, problems);
  const types = s['type'] === undefined ? undefined : [s['type'] as string | string[]].flat();
  if (types && !hasType(value, types)) {
    say(`expected ${types.join(' or ')}, got ${typeName(value)}`);
    return;
  }
  if (s['const'] !== undefined && !sameJson(value, s['const'])) say(`expected ${JSON.stringify(s['const'])}`);
  if (Array.isArray(s['enum']) && !s['enum'].some((option) => sameJson(value, option))) {
    say(`expected one of ${s['enum'].map((option) => JSON.stringify(option)).join(', ')}`);
  }
  if (typeof value === 'number') checkNumber(s, value, say);
  if (typeof value === 'string') {
    if (typeof s['minLength'] === 'number' && value.length < s['minLength'])
      say(`at least ${s['minLength']} characters`);
    if (typeof s['maxLength'] === 'number' && value.length > s['maxLength'])
      say(`at most ${s['maxLength']} characters`);
    if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(value)) {
      say(`does not match ${s['pattern']}`);
    }
  }
  if (Array.isArray(value)) checkArray(root, s, value, path, problems, say);
  if (isObject(value)) checkObject(root, s, value, path, problems);
  if (Array.isArray(s['allOf'])) for (const sub of s['allOf']) check(root, sub, value, path, problems);
  if (Array.isArray(s['oneOf'])) checkOneOf(root, s['oneOf'], value, path, problems, say);
  if (s['if'] !== undefined) {
    const matched = validateAt(root, s['if'], value).length === 0;
    const branch = matched ? s['then'] : s['else'];
    if (branch !== undefined) check(root, branch, value, path, problems);
  }
}

function checkNumber(s: JsonSchema, value: number, say: (message: string) => void): void {
  if (typeof s['minimum'] === 'number' && value < s['minimum']) say(`must be at least ${s['minimum']}`);
  if (typeof s['maximum'] === 'number' && value > s['maximum']) say(`must be at most ${s['maximum']}`);
  if (typeof s['exclusiveMinimum'] === 'number' && value <= s['exclusiveMinimum']) {
    say(`must be above ${s['exclusiveMinimum']}`);
  }
}

function checkArray(
  root: JsonSchema,
  s: JsonSchema,
  value: unknown[],
  path: string,
  problems: string[],
  say: (message: string) => void,
): void {
  if (typeof s['minItems'] === 'number' && value.length < s['minItems'])
    say(`expected at least ${s['minItems']} items`);
  if (typeof s['maxItems'] === 'number' && value.length > s['maxItems']) say(`expected at most ${s['maxItems']} items`);
  const prefix: unknown[] = Array.isArray(s['prefixItems']) ? s['prefixItems'] : [];
  value.forEach((item, i) => {
    const sub: unknown = i < prefix.length ? prefix[i] : s['items'];
    if (sub !== undefined) check(root, sub, item, `${path}[${i}]`, problems);
  });
}

function checkObject(
  root: JsonSchema,
  s: JsonSchema,
  value: Record<string, unknown>,
  path: string,
  problems: string[],
): void {
  const properties = (s['properties'] ?? {}) as Record<string, unknown>;
  if (typeof s['minProperties'] === 'number' && Object.keys(value).length < s['minProperties']) {
    problems.push(`${label(path)}: expected at least ${s['minProperties']} of ${Object.keys(properties).join(', ')}`);
  }
  for (const name of (s['required'] ?? []) as string[]) {
    if (!(name in value)) problems.push(`${label(join(path, name))}: required`);
  }
  for (const [name, item] of Object.entries(value)) {
    if (name in properties) check(root, properties[name], item, join(path, name), problems);
    else if (s['additionalProperties'] === false) problems.push(`${label(join(path, name))}: unknown field`);
    else if (s['additionalProperties'] !== undefined) {
      check(root, s['additionalProperties'], item, join(path, name), problems);
    }
  }
}

/**
 * oneOf over objects told apart by a `const` property (a `kind`): the problems of the branch whose discriminator
 * matches, which say far more than "matches none of 7 schemas". Without a matching discriminator, the choices.
 */
function checkOneOf(
  root: JsonSchema,
  options: unknown[],
  value: unknown,
  path: string,
  problems: string[],
  say: (message: string) => void,
): void {
  const results = options.map((option) => validateAt(root, option, value));
  const passing = results.filter((r) => r.length === 0).length;
  if (passing === 1) return;
  if (passing > 1) return say('matches more than one of the choices');
  const discriminated = options.map((option) => discriminator(root, option));
  const key = discriminated.find((d) => d !== undefined)?.key;
  if (key !== undefined && isObject(value)) {
    const index = discriminated.findIndex((d) => d !== undefined && sameJson(value[key], d.value));
    if (index >= 0) {
      for (const problem of results[index] ?? []) problems.push(prefixed(path, problem));
      return;
    }
    const choices = discriminated.flatMap((d) => (d ? [JSON.stringify(d.value)] : [])).join(', ');
    problems.push(`${label(join(path, key))}: expected one of ${choices}`);
    return;
  }
  say(`matches none of the ${options.length} choices`);
}

function discriminator(root: JsonSchema, option: unknown): { key: string; value: unknown } | undefined {
  let schema = option as JsonSchema;
  if (typeof schema['$ref'] === 'string') schema = resolveRef(root, schema['$ref']) as JsonSchema;
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  for (const [key, property] of Object.entries(properties)) {
    if (property && property['const'] !== undefined) return { key, value: property['const'] };
  }
  return undefined;
}

/** Problems of `value` against a sub-schema, with paths relative to `value` (re-prefixed by the caller). */
function validateAt(root: JsonSchema, schema: unknown, value: unknown): string[] {
  const problems: string[] = [];
  check(root, schema, value, '', problems);
  return problems;
}

function prefixed(path: string, problem: string): string {
  if (problem.startsWith('(root)')) return `${label(path)}${problem.slice('(root)'.length)}`;
  return problem.startsWith('[') ? `${path}${problem}` : `${path ? `${path}.` : ''}${problem}`;
}

function resolveRef(root: JsonSchema, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, not ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => {
      const next = isObject(node) ? node[key] : undefined;
      if (next === undefined) throw new Error(`$ref ${ref} points nowhere`);
      return next;
    }, root);
}

function hasType(value: unknown, type: string | string[]): boolean {
  return [type].flat().some((t) => {
    switch (t) {
      case 'integer':
        return Number.isInteger(value);
      case 'number':
        return typeof value === 'number' && Number.isFinite(value);
      case 'array':
        return Array.isArray(value);
      case 'object':
        return isObject(value);
      case 'null':
        return value === null;
      default:
        return typeof value === t;
    }
  });
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function label(path: string): string {
  return path || '(root)';
}
