/**
 * The fixed vocabulary of tenant programs. `program.schema.json` repeats these lists for editors and other
 * languages; `program.schema.spec.ts` fails when the two drift apart.
 */

/**
 * Every name a program declares (headers, fields, metadata, registers, counters, actions, params, tables, report
 * events) and the program's own name: lowercase snake case, at most 32 characters. Names become parts of field
 * references (`meta.<name>`, `<header>.<field>`) and keys the linker prefixes per tenant, so they stay plain.
 */
export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

/** Register cell widths in bits, as a switch's register arrays offer them (seed 004: one big array per stage). */
export const REGISTER_WIDTHS = [8, 16, 32, 64, 128] as const;
export type RegisterWidth = (typeof REGISTER_WIDTHS)[number];

/** What a counter cell counts. Cells are 64-bit; `both` keeps two cells (packets and bytes) per entry. */
export const COUNTER_KINDS = ['packets', 'bytes', 'both'] as const;
export type CounterKind = (typeof COUNTER_KINDS)[number];

export const MATCH_KINDS = ['exact', 'ternary', 'lpm'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];

/**
 * The only operations an action can perform. There is deliberately no loop, jump, resubmit or recirculate: each op
 * runs once per action call, so a program's worst-case work per packet is a static sum (seed 002: "safe elements
 * that execute within a bounded amount of time"; seed 004: "ensure no infinite packet resubmitting").
 */
export const OP_KINDS = [
  'set',
  'hash',
  'register.read',
  'register.write',
  'register.add',
  'counter.count',
  'drop',
  'forward',
  'mirror',
  'report',
] as const;
export type OpKind = (typeof OP_KINDS)[number];

export const HASH_ALGORITHMS = ['crc32', 'crc16', 'identity'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

export const BINARY_OPERATORS = ['+', '-', '&', '|', '^', '<<', '>>'] as const;
export type BinaryOperator = (typeof BINARY_OPERATORS)[number];

export const GUARD_OPERATORS = ['==', '!='] as const;
export type GuardOperator = (typeof GUARD_OPERATORS)[number];

/**
 * Structural limits of the language, the same for every tenant (quotas, per tenant, come on top). They keep a
 * document, and the work of checking and compiling it, bounded whatever a tenant submits.
 */
export const PROGRAM_LIMITS = {
  headers: 4,
  headerFields: 16,
  /** Total size of all tenant headers together. */
  headerBytes: 64,
  /** Tenant header fields and action params: 1 to 64 bits. */
  fieldBits: 64,
  metadata: 32,
  /** Metadata can hold a full 128-bit register cell. */
  metadataBits: 128,
  registers: 16,
  counters: 16,
  /** Entries of one register or counter array, and of one table. */
  arraySize: 65536,
  actions: 64,
  actionParams: 8,
  opsPerAction: 32,
  tables: 32,
  tableKeys: 8,
  tableActions: 16,
  /** One step per table at most. */
  controlSteps: 32,
  /** Fields of one `hash` or `report` op. */
  opFields: 16,
  /** Largest `hash` bound: hash values are 32-bit at most. */
  hashBound: 2 ** 32,
  /** Widest value an expression, a constant or a storage location can have. */
  valueBits: 128,
} as const;

/** Header names a tenant cannot take: they are the namespaces of standard fields and metadata. */
export const RESERVED_NAMESPACES = ['eth', 'ipv4', 'l4', 'tcp', 'std', 'meta'] as const;

/** The namespace of declared metadata: `meta.<name>`. */
export const METADATA_NAMESPACE = 'meta';

/** The allowed properties of each object in a program document, by the name of its definition in the JSON Schema. */
export interface ObjectShape {
  readonly required: readonly string[];
  readonly optional: readonly string[];
}

function shape(required: readonly string[], optional: readonly string[] = []): ObjectShape {
  return { required, optional };
}

export const PROGRAM_SHAPES = {
  program: shape(
    ['name', 'version', 'actions', 'tables', 'control'],
    ['$schema', 'headers', 'metadata', 'registers', 'counters'],
  ),
  header: shape(['name', 'fields']),
  headerField: shape(['name', 'bits']),
  metadata: shape(['name', 'bits']),
  register: shape(['name', 'width', 'size']),
  counter: shape(['name', 'size', 'kind']),
  action: shape(['name', 'ops'], ['params']),
  param: shape(['name', 'bits']),
  table: shape(['name', 'key', 'actions', 'defaultAction', 'size']),
  tableKey: shape(['field', 'match']),
  defaultAction: shape(['action'], ['args']),
  controlStep: shape(['table'], ['if']),
  guard: shape(['field', 'op', 'value']),
  'expr.const': shape(['const']),
  'expr.field': shape(['field']),
  'expr.param': shape(['param']),
  'expr.binary': shape(['op', 'left', 'right']),
  'op.set': shape(['op', 'target', 'value']),
  'op.hash': shape(['op', 'algorithm', 'fields', 'bound', 'into']),
  'op.register.read': shape(['op', 'register', 'index', 'into']),
  'op.register.write': shape(['op', 'register', 'index', 'value']),
  'op.register.add': shape(['op', 'register', 'index', 'value'], ['into']),
  'op.counter.count': shape(['op', 'counter', 'index']),
  'op.drop': shape(['op']),
  'op.forward': shape(['op', 'to']),
  'op.mirror': shape(['op']),
  'op.report': shape(['op', 'event', 'fields']),
} as const satisfies Record<string, ObjectShape>;
