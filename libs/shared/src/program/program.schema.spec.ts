import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { STANDARD_FIELDS } from './program-fields';
import { CONSTANT_PATTERN } from './program-widths';
import {
  BINARY_OPERATORS,
  COUNTER_KINDS,
  GUARD_OPERATORS,
  HASH_ALGORITHMS,
  MATCH_KINDS,
  METADATA_NAMESPACE,
  NAME_PATTERN,
  OP_KINDS,
  PROGRAM_LIMITS,
  PROGRAM_SHAPES,
  REGISTER_WIDTHS,
  RESERVED_NAMESPACES,
} from './program.constants';

// The schema is not compiled; the spec reads it from the source tree next to the compiled spec's package.
const SCHEMA_PATH = path.join(__dirname, '../../src/program/program.schema.json');
const PROGRAMS_DIR = path.join(__dirname, '../../../../programs');

type Json = Record<string, unknown>;

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Json;

/** The node at a JSON pointer such as `/$defs/header/properties/fields/maxItems`. */
function at(pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((node, key) => {
      assert.ok(typeof node === 'object' && node !== null && key in node, `schema has no ${pointer}`);
      return (node as Json)[key];
    }, schema);
}

function sorted(values: readonly (string | number)[]): (string | number)[] {
  return [...values].sort();
}

describe('program.schema.json', () => {
  it('is a draft 2020-12 schema', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  });

  for (const [name, shape] of Object.entries(PROGRAM_SHAPES)) {
    it(`${name}: same required and allowed properties as PROGRAM_SHAPES, nothing else allowed`, () => {
      const node = name === 'program' ? '' : `/$defs/${name}`;
      assert.deepEqual(sorted(at(`${node}/required`) as string[]), sorted(shape.required));
      assert.deepEqual(
        sorted(Object.keys(at(`${node}/properties`) as Json)),
        sorted([...shape.required, ...shape.optional]),
      );
      assert.equal(at(`${node}/additionalProperties`), false);
    });
  }

  it('has one op definition per primitive op, discriminated by op', () => {
    const refs = (at('/$defs/op/oneOf') as { $ref: string }[]).map((ref) => ref.$ref);
    assert.deepEqual(
      refs,
      OP_KINDS.map((kind) => `#/$defs/op.${kind}`),
    );
    for (const kind of OP_KINDS) assert.equal(at(`/$defs/op.${kind}/properties/op/const`), kind);
  });

  for (const [pointer, expected] of [
    ['/$defs/register/properties/width/enum', REGISTER_WIDTHS],
    ['/$defs/counter/properties/kind/enum', COUNTER_KINDS],
    ['/$defs/tableKey/properties/match/enum', MATCH_KINDS],
    ['/$defs/op.hash/properties/algorithm/enum', HASH_ALGORITHMS],
    ['/$defs/expr.binary/properties/op/enum', BINARY_OPERATORS],
    ['/$defs/guard/properties/op/enum', GUARD_OPERATORS],
    ['/$defs/fieldRef/anyOf/0/enum', Object.keys(STANDARD_FIELDS)],
    [
      '/$defs/writableFieldRef/anyOf/0/enum',
      Object.entries(STANDARD_FIELDS)
        .filter(([, spec]) => spec.writable)
        .map(([name]) => name),
    ],
    ['/$defs/header/properties/name/not/enum', RESERVED_NAMESPACES],
  ] as const) {
    it(`${pointer} lists the TS constant`, () => {
      assert.deepEqual(at(pointer), [...expected]);
    });
  }

  it('uses the same name, constant and metadata patterns as the validator', () => {
    assert.equal(at('/$defs/name/pattern'), NAME_PATTERN.source);
    assert.equal(at('/$defs/constant/oneOf/1/pattern'), CONSTANT_PATTERN.source);
    assert.equal(at('/$defs/constant/oneOf/0/maximum'), Number.MAX_SAFE_INTEGER);
    assert.equal(at('/$defs/metaRef/pattern'), `^${METADATA_NAMESPACE}\\.${NAME_PATTERN.source.slice(1)}`);
    // Tenant fields are <header>.<field> outside the standard namespaces (metadata is one of those tenant forms).
    const standard = RESERVED_NAMESPACES.filter((namespace) => namespace !== METADATA_NAMESPACE).join('|');
    const tenantField = `^(?!(${standard})\\.)${NAME_PATTERN.source.slice(1, -1)}\\.${NAME_PATTERN.source.slice(1)}`;
    assert.equal(at('/$defs/fieldRef/anyOf/1/pattern'), tenantField);
    assert.equal(at('/$defs/writableFieldRef/anyOf/1/pattern'), tenantField);
  });

  for (const [pointer, expected] of [
    ['/properties/headers/maxItems', PROGRAM_LIMITS.headers],
    ['/properties/metadata/maxItems', PROGRAM_LIMITS.metadata],
    ['/properties/registers/maxItems', PROGRAM_LIMITS.registers],
    ['/properties/counters/maxItems', PROGRAM_LIMITS.counters],
    ['/properties/actions/maxItems', PROGRAM_LIMITS.actions],
    ['/properties/tables/maxItems', PROGRAM_LIMITS.tables],
    ['/properties/control/maxItems', PROGRAM_LIMITS.controlSteps],
    ['/$defs/header/properties/fields/maxItems', PROGRAM_LIMITS.headerFields],
    ['/$defs/headerField/properties/bits/maximum', PROGRAM_LIMITS.fieldBits],
    ['/$defs/metadata/properties/bits/maximum', PROGRAM_LIMITS.metadataBits],
    ['/$defs/register/properties/size/maximum', PROGRAM_LIMITS.arraySize],
    ['/$defs/counter/properties/size/maximum', PROGRAM_LIMITS.arraySize],
    ['/$defs/table/properties/size/maximum', PROGRAM_LIMITS.arraySize],
    ['/$defs/action/properties/params/maxItems', PROGRAM_LIMITS.actionParams],
    ['/$defs/action/properties/ops/maxItems', PROGRAM_LIMITS.opsPerAction],
    ['/$defs/param/properties/bits/maximum', PROGRAM_LIMITS.fieldBits],
    ['/$defs/table/properties/key/maxItems', PROGRAM_LIMITS.tableKeys],
    ['/$defs/table/properties/actions/maxItems', PROGRAM_LIMITS.tableActions],
    ['/$defs/fieldList/maxItems', PROGRAM_LIMITS.opFields],
    ['/$defs/op.hash/properties/bound/maximum', PROGRAM_LIMITS.hashBound],
  ] as const) {
    it(`${pointer} is ${expected}, as PROGRAM_LIMITS says`, () => {
      assert.equal(at(pointer), expected);
    });
  }

  it('resolves every $ref', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(schema);
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      assert.ok(ref.startsWith('#/'), `${ref} is not local`);
      assert.doesNotThrow(() => at(ref.slice(1)), `${ref} does not resolve`);
    }
  });

  it('is the schema the example programs point editors at', () => {
    for (const file of readdirSync(PROGRAMS_DIR).filter((name) => name.endsWith('.json'))) {
      const document = JSON.parse(readFileSync(path.join(PROGRAMS_DIR, file), 'utf8')) as Json;
      assert.equal(path.resolve(PROGRAMS_DIR, String(document.$schema)), SCHEMA_PATH, file);
    }
  });
});
