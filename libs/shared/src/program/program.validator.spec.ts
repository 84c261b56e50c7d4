import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors';
import type { ProgramContext, ProgramQuota } from './program.types';
import { validateProgram } from './program.validator';

const PROGRAMS_DIR = path.join(__dirname, '../../../../programs');

const QUOTA: ProgramQuota = {
  tables: 4,
  tableEntries: 1024,
  registerBits: 65536,
  counters: 64,
  actionOpsPerPacket: 16,
  headerBytes: 16,
};

function context(quota: Partial<ProgramQuota> = {}): ProgramContext {
  return { tenant: 'tenant-a', vms: ['vm-a1', 'vm-a2'], quota: { ...QUOTA, ...quota } };
}

/**
 * A small valid program that uses every kind of declaration; the invalid corpus breaks it one property at a time.
 * Worst case per packet: acl's largest action (mark, 2 ops) + track's (remember, 3 ops) = 5.
 */
function baseProgram(): Record<string, unknown> {
  return {
    name: 'spec_program',
    version: 1,
    headers: [
      {
        name: 'tun',
        fields: [
          { name: 'id', bits: 24 },
          { name: 'flags', bits: 8 },
        ],
      },
    ],
    metadata: [
      { name: 'idx', bits: 16 },
      { name: 'seen', bits: 8 },
    ],
    registers: [{ name: 'flows', width: 8, size: 1024 }],
    counters: [{ name: 'hits', size: 16, kind: 'packets' }],
    actions: [
      { name: 'to_vm', ops: [{ op: 'forward', to: 'vm-a2' }] },
      {
        name: 'mark',
        params: [{ name: 'dscp', bits: 6 }],
        ops: [
          { op: 'set', target: 'ipv4.dscp', value: { param: 'dscp' } },
          { op: 'counter.count', counter: 'hits', index: { const: 0 } },
        ],
      },
      {
        name: 'remember',
        ops: [
          { op: 'hash', algorithm: 'crc32', fields: ['ipv4.src', 'ipv4.dst'], bound: 1024, into: 'meta.idx' },
          { op: 'register.write', register: 'flows', index: { field: 'meta.idx' }, value: { const: 1 } },
          { op: 'set', target: 'tun.flags', value: { op: '|', left: { field: 'tun.flags' }, right: { const: 1 } } },
        ],
      },
      { name: 'deny', ops: [{ op: 'drop' }] },
    ],
    tables: [
      {
        name: 'acl',
        key: [
          { field: 'ipv4.dst', match: 'lpm' },
          { field: 'l4.dport', match: 'exact' },
        ],
        actions: ['to_vm', 'mark', 'deny'],
        defaultAction: { action: 'mark', args: { dscp: 10 } },
        size: 256,
      },
      { name: 'track', key: [], actions: ['remember'], defaultAction: { action: 'remember' }, size: 0 },
    ],
    control: [{ table: 'acl' }, { table: 'track', if: { field: 'ipv4.proto', op: '==', value: 6 } }],
  };
}

const REMOVE = Symbol('remove');

/** The base program with each `path` (as the validator writes paths: `tables[0].key[1].match`) set or removed. */
function edited(changes: Record<string, unknown>): Record<string, unknown> {
  const document = baseProgram();
  for (const [at, value] of Object.entries(changes)) {
    const keys = [...at.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] === undefined ? m[1] : Number(m[2])));
    const last = keys.pop()!;
    let node: unknown = document;
    for (const key of keys) node = (node as Record<string | number, unknown>)[key];
    const container = node as Record<string | number, unknown>;
    if (value === REMOVE) delete container[last];
    else container[last] = value;
  }
  return document;
}

function problemsOf(document: unknown, ctx: ProgramContext = context()): string[] {
  try {
    validateProgram(document, ctx);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    assert.equal(error.code, 'VALIDATION_FAILED');
    return error.details;
  }
  assert.fail('expected the program to be refused');
}

function loadExample(file: string): unknown {
  return JSON.parse(readFileSync(path.join(PROGRAMS_DIR, file), 'utf8'));
}

describe('validateProgram: the example programs', () => {
  const files = readdirSync(PROGRAMS_DIR).filter((file) => file.endsWith('.json'));
  const examples = { tenant: 'tenant-a', vms: ['vm-a1', 'vm-a2'] };
  const roomy: ProgramQuota = {
    tables: 8,
    tableEntries: 4096,
    registerBits: 1 << 20,
    counters: 16384,
    actionOpsPerPacket: 32,
    headerBytes: 64,
  };

  it('finds the four examples', () => {
    assert.deepEqual(files.sort(), [
      'flow-counters.json',
      'flow-table.json',
      'heavy-hitter.json',
      'stateful-firewall.json',
    ]);
  });

  for (const file of files) {
    it(`${file} validates clean for tenant-a`, () => {
      const valid = validateProgram(loadExample(file), { ...examples, quota: roomy });
      assert.equal(valid.tenant, 'tenant-a');
    });
  }

  it('reports what each example uses', () => {
    const resources = Object.fromEntries(
      files.map((file) => [file, validateProgram(loadExample(file), { ...examples, quota: roomy }).resources]),
    );
    assert.deepEqual(resources, {
      'flow-counters.json': {
        tables: 1,
        tableEntries: 64,
        registerBits: 0,
        counters: 4096 * 2 + 16,
        maxOpsPerPacket: 4,
        headerBytes: 0,
      },
      'flow-table.json': {
        tables: 4,
        tableEntries: 0,
        registerBits: 2 * 32 * 4096,
        counters: 2,
        maxOpsPerPacket: 6 + 3 + 1 + 1,
        headerBytes: 0,
      },
      'heavy-hitter.json': {
        tables: 2,
        tableEntries: 0,
        registerBits: 3 * 32 * 1024 + 8 * 1024,
        counters: 0,
        maxOpsPerPacket: 15 + 2,
        headerBytes: 0,
      },
      'stateful-firewall.json': {
        tables: 2,
        tableEntries: 16,
        registerBits: 8 * 4096,
        counters: 2,
        maxOpsPerPacket: 3 + 2,
        headerBytes: 0,
      },
    });
  });
});

describe('validateProgram: a valid program', () => {
  it('computes the static worst case per packet and the other resources', () => {
    const valid = validateProgram(baseProgram(), context());
    assert.deepEqual(valid.resources, {
      tables: 2,
      tableEntries: 256,
      registerBits: 8 * 1024,
      counters: 16,
      maxOpsPerPacket: 2 + 3,
      headerBytes: 4,
    });
  });

  it('counts only tables the control applies towards ops per packet, and all tables towards the rest', () => {
    const busy = { name: 'busy', ops: Array.from({ length: 6 }, () => ({ op: 'mirror' })) };
    const extra = { name: 'extra', key: [], actions: ['busy', 'deny'], defaultAction: { action: 'deny' }, size: 0 };
    const unapplied = validateProgram(edited({ 'actions[4]': busy, 'tables[2]': extra }), context());
    assert.equal(unapplied.resources.maxOpsPerPacket, 5);
    assert.equal(unapplied.resources.tables, 3);
    const applied = validateProgram(
      edited({ 'actions[4]': busy, 'tables[2]': extra, 'control[2]': { table: 'extra' } }),
      context(),
    );
    assert.equal(applied.resources.maxOpsPerPacket, 5 + 6);
  });

  it('returns the program normalized and deep-frozen, leaving the document alone', () => {
    const document = edited({
      $schema: '../program.schema.json',
      headers: REMOVE,
      counters: REMOVE,
      'actions[2].ops[2]': { op: 'mirror' },
    });
    (document.actions as unknown[])[1] = { name: 'mark', params: [{ name: 'dscp', bits: 6 }], ops: [] };
    const valid = validateProgram(document, context());
    assert.deepEqual(valid.program.headers, []);
    assert.deepEqual(valid.program.counters, []);
    assert.ok(!('$schema' in valid.program));
    assert.deepEqual(valid.program.actions[0], { name: 'to_vm', params: [], ops: [{ op: 'forward', to: 'vm-a2' }] });
    assert.deepEqual(valid.program.tables[1].defaultAction, { action: 'remember', args: {} });
    assert.ok(Object.isFrozen(valid) && Object.isFrozen(valid.program.tables[0].key[0]));
    assert.ok(!Object.isFrozen(document.tables));
    assert.equal(valid.program.tables[0].defaultAction.args.dscp, 10);
  });

  it('says how many problems there are and for whom, and lists them in details', () => {
    try {
      validateProgram(edited({ version: 0 }), context());
      assert.fail('expected a ValidationError');
    } catch (error) {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /tenant-a rejected: 1 problem\./);
      assert.deepEqual(error.details, ['version: 0 is out of range: expected 1 to 9007199254740991']);
    }
  });
});

describe('validateProgram: the width rule', () => {
  const setTtl = (value: unknown): Record<string, unknown> =>
    edited({ 'actions[1].ops[0]': { op: 'set', target: 'ipv4.ttl', value } });

  for (const [label, value] of [
    ['decrement (+ and - wrap at the wider operand)', { op: '-', left: { field: 'ipv4.ttl' }, right: { const: 1 } }],
    ['a 32-bit field masked with & 0xff', { op: '&', left: { field: 'ipv4.src' }, right: { const: '0xff' } }],
    ['a 32-bit field shifted right by 24', { op: '>>', left: { field: 'ipv4.src' }, right: { const: 24 } }],
    ['a 6-bit param shifted left by 2', { op: '<<', left: { param: 'dscp' }, right: { const: 2 } }],
    ['a constant that fits', { const: 255 }],
  ] as const) {
    it(`accepts ${label} into an 8-bit field`, () => {
      assert.doesNotThrow(() => validateProgram(setTtl(value), context()));
    });
  }

  for (const [label, value, bits] of [
    ['a 32-bit field', { field: 'ipv4.src' }, 32],
    ['a 6-bit param shifted left by 3', { op: '<<', left: { param: 'dscp' }, right: { const: 3 } }, 9],
    ['a 32-bit field masked with 0x1ff', { op: '&', left: { field: 'ipv4.src' }, right: { const: 511 } }, 9],
    ['a 32-bit field OR an 8-bit one', { op: '|', left: { field: 'ipv4.src' }, right: { field: 'ipv4.ttl' } }, 32],
    ['a constant of 256', { const: 256 }, 9],
  ] as const) {
    it(`refuses ${label} into an 8-bit field, naming the mask`, () => {
      assert.deepEqual(problemsOf(setTtl(value)), [
        `actions[1].ops[0].value: ${bits}-bit value does not fit field ipv4.ttl (8 bits): ` +
          'mask it explicitly, e.g. with & 0xff',
      ]);
    });
  }
});

interface InvalidCase {
  /** What is wrong, for the test name. */
  readonly wrong: string;
  /** Edits to the base program, or a whole document. */
  readonly edit?: Record<string, unknown>;
  readonly document?: unknown;
  readonly quota?: Partial<ProgramQuota>;
  readonly path: string;
  readonly reason: string;
}

const NOT_FOUND_IN_TENANT = 'is not a VM of tenant-a';

const INVALID: readonly InvalidCase[] = [
  // References that do not resolve
  {
    wrong: 'unknown field in a table key',
    edit: { 'tables[0].key[0].field': 'ipv4.dstt' },
    path: 'tables[0].key[0].field',
    reason: 'unknown field ipv4.dstt',
  },
  {
    wrong: 'unknown field in an expression',
    edit: { 'actions[1].ops[0].value': { field: 'ipv4.ttll' } },
    path: 'actions[1].ops[0].value.field',
    reason: 'unknown field ipv4.ttll',
  },
  {
    wrong: 'unknown field of a tenant header',
    edit: { 'actions[2].ops[2].target': 'tun.flag' },
    path: 'actions[2].ops[2].target',
    reason: 'unknown field tun.flag: header tun has no field flag',
  },
  {
    wrong: 'undeclared metadata',
    edit: { 'actions[2].ops[0].into': 'meta.index' },
    path: 'actions[2].ops[0].into',
    reason: 'unknown field meta.index: declare index in metadata',
  },
  {
    wrong: 'unknown register',
    edit: { 'actions[2].ops[1].register': 'flow' },
    path: 'actions[2].ops[1].register',
    reason: 'unknown register flow',
  },
  {
    wrong: 'unknown counter',
    edit: { 'actions[1].ops[1].counter': 'misses' },
    path: 'actions[1].ops[1].counter',
    reason: 'unknown counter misses',
  },
  {
    wrong: 'unknown param',
    edit: { 'actions[1].ops[0].value': { param: 'dcsp' } },
    path: 'actions[1].ops[0].value.param',
    reason: 'unknown param dcsp (params: dscp)',
  },
  {
    wrong: 'unknown action in a table',
    edit: { 'tables[0].actions[3]': 'nope' },
    path: 'tables[0].actions[3]',
    reason: 'unknown action nope',
  },
  {
    wrong: "default action not in the table's actions",
    edit: { 'tables[1].defaultAction': { action: 'deny' } },
    path: 'tables[1].defaultAction.action',
    reason: "deny is not one of this table's actions (remember)",
  },
  {
    wrong: 'default action without the args its params need',
    edit: { 'tables[0].defaultAction': { action: 'mark' } },
    path: 'tables[0].defaultAction.args',
    reason: 'missing value for param dscp of action mark',
  },
  {
    wrong: 'default action arg wider than its param',
    edit: { 'tables[0].defaultAction.args.dscp': 64 },
    path: 'tables[0].defaultAction.args.dscp',
    reason: '64 needs 7 bits, param dscp of action mark has 6',
  },
  {
    wrong: 'default action arg for a param the action lacks',
    edit: { 'tables[0].defaultAction.args.color': 1 },
    path: 'tables[0].defaultAction.args.color',
    reason: 'action mark has no param color',
  },
  {
    wrong: 'unknown table in control',
    edit: { 'control[1].table': 'trak' },
    path: 'control[1].table',
    reason: 'unknown table trak',
  },
  // Names
  {
    wrong: 'duplicate register names',
    edit: { 'registers[1]': { name: 'flows', width: 16, size: 8 } },
    path: 'registers[1].name',
    reason: 'duplicate register name flows (first declared at registers[0])',
  },
  {
    wrong: 'duplicate action names',
    edit: { 'actions[4]': { name: 'deny', ops: [] } },
    path: 'actions[4].name',
    reason: 'duplicate action name deny (first declared at actions[3])',
  },
  {
    wrong: 'duplicate field names in a header',
    edit: { 'headers[0].fields[2]': { name: 'id', bits: 8 } },
    path: 'headers[0].fields[2].name',
    reason: 'duplicate field name id',
  },
  {
    wrong: 'a name that is not id-like',
    edit: { 'tables[1].name': 'Track' },
    path: 'tables[1].name',
    reason: 'Track is not a valid name: lowercase letters, digits and _',
  },
  {
    wrong: 'a header named like a standard namespace',
    edit: { 'headers[0].name': 'ipv4' },
    path: 'headers[0].name',
    reason: 'ipv4 is reserved for standard fields and metadata',
  },
  // forward stays inside the tenant
  {
    wrong: "forward to another tenant's VM",
    edit: { 'actions[0].ops[0].to': 'vm-b1' },
    path: 'actions[0].ops[0].to',
    reason: `vm-b1 ${NOT_FOUND_IN_TENANT}`,
  },
  {
    wrong: 'forward to an unknown VM',
    edit: { 'actions[0].ops[0].to': 'vm-a9' },
    path: 'actions[0].ops[0].to',
    reason: `vm-a9 ${NOT_FOUND_IN_TENANT}`,
  },
  // Widths and writability
  {
    wrong: 'register width not offered',
    edit: { 'registers[0].width': 24 },
    path: 'registers[0].width',
    reason: '24 is not one of 8, 16, 32, 64, 128',
  },
  {
    wrong: 'write to std.in_port',
    edit: { 'actions[1].ops[0].target': 'std.in_port' },
    path: 'actions[1].ops[0].target',
    reason: 'std.in_port is read-only',
  },
  {
    wrong: 'write to ipv4.proto',
    edit: { 'actions[1].ops[0].target': 'ipv4.proto' },
    path: 'actions[1].ops[0].target',
    reason: 'ipv4.proto is read-only',
  },
  {
    wrong: 'a value wider than the register it is written to',
    edit: { 'actions[2].ops[1].value': { field: 'ipv4.src' } },
    path: 'actions[2].ops[1].value',
    reason: '32-bit value does not fit register flows (8 bits)',
  },
  {
    wrong: 'a hash bound beyond its metadata',
    edit: { 'actions[2].ops[0].bound': 131072 },
    path: 'actions[2].ops[0].into',
    reason: 'hash values go up to 131071 and need 17 bits, meta.idx has 16',
  },
  {
    wrong: 'a register read into narrower metadata',
    edit: {
      'registers[0].width': 16,
      'actions[2].ops[3]': { op: 'register.read', register: 'flows', index: { const: 0 }, into: 'meta.seen' },
    },
    path: 'actions[2].ops[3].into',
    reason: 'register flows holds 16-bit values, meta.seen has 8 bits',
  },
  {
    wrong: 'a hash into a header field',
    edit: { 'actions[2].ops[0].into': 'ipv4.src' },
    path: 'actions[2].ops[0].into',
    reason: 'must be a metadata variable (meta.<name>), not ipv4.src',
  },
  {
    wrong: 'a guard value its field cannot hold',
    edit: { 'control[1].if.value': 300 },
    path: 'control[1].if.value',
    reason: '300 needs 9 bits, ipv4.proto has 8',
  },
  {
    wrong: 'a constant index outside its register',
    edit: { 'actions[2].ops[1].index': { const: 1024 } },
    path: 'actions[2].ops[1].index',
    reason: 'index 1024 is outside register flows (size 1024, indexes 0 to 1023)',
  },
  {
    wrong: 'a constant above 128 bits',
    edit: { 'actions[2].ops[1].value': { const: '999999999999999999999999999999999999999' } },
    path: 'actions[2].ops[1].value.const',
    reason: 'constant needs 130 bits, values have at most 128',
  },
  {
    wrong: 'a negative constant',
    edit: { 'actions[2].ops[1].value': { const: -1 } },
    path: 'actions[2].ops[1].value.const',
    reason: '-1 is not a constant: expected a non-negative integer',
  },
  // Tables and control
  {
    wrong: 'the same table applied twice',
    edit: { 'control[2]': { table: 'acl' } },
    path: 'control[2].table',
    reason: 'acl is already applied at control[0]: each table is applied at most once',
  },
  {
    wrong: 'two lpm keys in one table',
    edit: { 'tables[0].key[1].match': 'lpm' },
    path: 'tables[0].key[1].match',
    reason: 'a table has at most one lpm key, and tables[0].key[0] is one',
  },
  {
    wrong: 'the same field twice in a key',
    edit: { 'tables[0].key[1].field': 'ipv4.dst' },
    path: 'tables[0].key[1].field',
    reason: 'ipv4.dst is already in the key at tables[0].key[0]',
  },
  {
    wrong: 'an action listed twice in a table',
    edit: { 'tables[0].actions[3]': 'deny' },
    path: 'tables[0].actions[3]',
    reason: 'deny is already listed at tables[0].actions[2]',
  },
  {
    wrong: 'entries for a table without a key',
    edit: { 'tables[1].size': 10 },
    path: 'tables[1].size',
    reason: 'a table without a key holds no entries, only its default action: set size to 0',
  },
  {
    wrong: 'a guard comparing with <',
    edit: { 'control[1].if.op': '<' },
    path: 'control[1].if.op',
    reason: '< is not one of ==, !=',
  },
  // Headers
  {
    wrong: 'header bits not a multiple of 8',
    edit: { 'headers[0].fields[0].bits': 20 },
    path: 'headers[0].fields',
    reason: '28 bits in total is not a multiple of 8: a header is a whole number of bytes',
  },
  {
    wrong: 'a header field wider than 64 bits',
    edit: { 'headers[0].fields[0].bits': 65 },
    path: 'headers[0].fields[0].bits',
    reason: '65 is out of range: expected 1 to 64',
  },
  {
    wrong: 'a header with 17 fields',
    edit: { 'headers[0].fields[16]': { name: 'f16', bits: 8 } },
    quota: { headerBytes: 64 },
    path: 'headers[0].fields',
    reason: '17 items exceed the limit of 16',
  },
  // Quotas, one at a time
  {
    wrong: 'more tables than the quota',
    quota: { tables: 1 },
    path: 'tables',
    reason: '2 tables exceed the quota of 1',
  },
  {
    wrong: 'more table entries than the quota',
    quota: { tableEntries: 100 },
    path: 'tables',
    reason: '256 table entries (sum of table sizes) exceed the quota of 100',
  },
  {
    wrong: 'more register bits than the quota',
    quota: { registerBits: 4096 },
    path: 'registers',
    reason: '8192 register bits (sum of width x size) exceed the quota of 4096',
  },
  {
    wrong: 'more counter cells than the quota',
    quota: { counters: 8 },
    path: 'counters',
    reason: '16 counter cells (sum of sizes, twice for kind both) exceed the quota of 8',
  },
  {
    wrong: 'more ops per packet than the quota',
    quota: { actionOpsPerPacket: 4 },
    path: 'control',
    reason: '5 ops per packet in the worst case exceed the quota of 4',
  },
  {
    wrong: 'more header bytes than the quota',
    quota: { headerBytes: 2 },
    path: 'headers',
    reason: '4 header bytes exceed the quota of 2',
  },
  // Structure and types
  {
    wrong: 'an unknown property in a table',
    edit: { 'tables[0].sizes': 3 },
    path: 'tables[0].sizes',
    reason: 'unknown property (allowed: name, key, actions, defaultAction, size)',
  },
  {
    wrong: 'an unknown top-level property',
    edit: { loops: true },
    path: 'loops',
    reason: 'unknown property',
  },
  {
    wrong: 'an unknown property in an op',
    edit: { 'actions[0].ops[0].times': 3 },
    path: 'actions[0].ops[0].times',
    reason: 'unknown property (allowed: op, to)',
  },
  {
    wrong: 'a register write asking for the new value (only add has into)',
    edit: { 'actions[2].ops[1].into': 'meta.seen' },
    path: 'actions[2].ops[1].into',
    reason: 'unknown property (allowed: op, register, index, value)',
  },
  {
    wrong: 'version as a string',
    edit: { version: '1' },
    path: 'version',
    reason: 'expected an integer, got a string',
  },
  {
    wrong: 'a key that is not a list',
    edit: { 'tables[0].key': 'ipv4.dst' },
    path: 'tables[0].key',
    reason: 'expected an array, got a string',
  },
  {
    wrong: 'fractional bits',
    edit: { 'metadata[0].bits': 16.5 },
    path: 'metadata[0].bits',
    reason: 'expected an integer, got a number',
  },
  {
    wrong: 'an expression that is a bare number',
    edit: { 'actions[1].ops[0].value': 5 },
    path: 'actions[1].ops[0].value',
    reason: 'expected an expression',
  },
  {
    wrong: 'a document that is not an object',
    document: [],
    path: 'document',
    reason: 'expected an object, got an array',
  },
  {
    wrong: 'a table without size',
    edit: { 'tables[0].size': REMOVE },
    path: 'tables[0].size',
    reason: 'required property is missing',
  },
  {
    wrong: 'a program without control',
    edit: { control: REMOVE },
    path: 'control',
    reason: 'required property is missing',
  },
  {
    wrong: 'an op without its kind',
    edit: { 'actions[3].ops[0]': {} },
    path: 'actions[3].ops[0].op',
    reason: 'required property is missing',
  },
  // Bounded work: tiny expressions, a fixed set of ops
  {
    wrong: 'an expression nested two deep',
    edit: {
      'actions[2].ops[2].value': {
        op: '|',
        left: { op: '&', left: { field: 'tun.flags' }, right: { const: 1 } },
        right: { const: 2 },
      },
    },
    path: 'actions[2].ops[2].value.left',
    reason: 'expression nested too deep',
  },
  {
    wrong: 'an operator outside the set',
    edit: { 'actions[2].ops[2].value.op': '*' },
    path: 'actions[2].ops[2].value.op',
    reason: '* is not one of +, -, &, |, ^, <<, >>',
  },
  ...['loop', 'resubmit', 'recirculate', 'goto'].map((op): InvalidCase => ({
    wrong: `a ${op} op`,
    edit: { 'actions[3].ops[0]': { op, times: 10 } },
    path: 'actions[3].ops[0].op',
    reason: `${op} is not a primitive op (the primitives: set, hash, register.read, register.write, register.add,`,
  })),
  // A declaration that is not an object is one problem: what names it would have declared are not reported unknown
  // wherever they are used.
  {
    wrong: 'a header that is not an object',
    edit: { 'headers[0]': 5 },
    path: 'headers[0]',
    reason: 'expected an object, got an integer',
  },
  {
    wrong: 'a header field that is not an object',
    edit: { 'headers[0].fields[1]': 'flags' },
    path: 'headers[0].fields[1]',
    reason: 'expected an object, got a string',
  },
  {
    wrong: 'a metadata declaration that is not an object',
    edit: { 'metadata[0]': null },
    path: 'metadata[0]',
    reason: 'expected an object, got null',
  },
  {
    wrong: 'a register that is not an object',
    edit: { 'registers[0]': [] },
    path: 'registers[0]',
    reason: 'expected an object, got an array',
  },
  {
    wrong: 'a counter that is not an object',
    edit: { 'counters[0]': true },
    path: 'counters[0]',
    reason: 'expected an object, got a boolean',
  },
  {
    wrong: 'an action that is not an object',
    edit: { 'actions[3]': 'deny' },
    path: 'actions[3]',
    reason: 'expected an object, got a string',
  },
  {
    wrong: 'a param that is not an object',
    edit: { 'actions[1].params[0]': 6.5 },
    path: 'actions[1].params[0]',
    reason: 'expected an object, got a number',
  },
  {
    wrong: 'a table that is not an object',
    edit: { 'tables[1]': 1 },
    path: 'tables[1]',
    reason: 'expected an object, got an integer',
  },
  {
    wrong: 'an op that is not an object',
    edit: { 'actions[3].ops[0]': 'drop' },
    path: 'actions[3].ops[0]',
    reason: 'expected an object, got a string',
  },
  {
    wrong: 'an op kind that is not a string',
    edit: { 'actions[3].ops[0].op': 7 },
    path: 'actions[3].ops[0].op',
    reason: 'expected a string, got an integer',
  },
  {
    wrong: 'a hashed field that is not a string',
    edit: { 'actions[2].ops[0].fields[1]': 4 },
    path: 'actions[2].ops[0].fields[1]',
    reason: 'expected a field reference (a string), got an integer',
  },
  {
    wrong: 'a hash over no fields',
    edit: { 'actions[2].ops[0].fields': [] },
    path: 'actions[2].ops[0].fields',
    reason: 'needs at least 1 item',
  },
  {
    wrong: "a table's action that is not a string",
    edit: { 'tables[0].actions[2]': { name: 'deny' } },
    path: 'tables[0].actions[2]',
    reason: 'expected an action name (a string), got an object',
  },
  {
    wrong: 'default action args that are not an object',
    edit: { 'tables[0].defaultAction.args': [10] },
    path: 'tables[0].defaultAction.args',
    reason: 'expected an object (param name to constant), got an array',
  },
  {
    wrong: 'an enum value of the wrong type (an operator)',
    edit: { 'control[1].if.op': 1 },
    path: 'control[1].if.op',
    reason: 'expected a string, got an integer',
  },
  {
    wrong: 'an enum value of the wrong type (a register width)',
    edit: { 'registers[0].width': '8' },
    path: 'registers[0].width',
    reason: 'expected an integer, got a string',
  },
  // Constants and references
  {
    wrong: 'a constant number above 2^53 - 1',
    edit: { 'actions[2].ops[1].value': { const: 2 ** 53 } },
    path: 'actions[2].ops[1].value.const',
    reason: '9007199254740992 is above 2^53 - 1: write it as a string of digits ("0x..." or decimal)',
  },
  {
    wrong: 'a constant string that is not digits',
    edit: { 'actions[2].ops[1].value': { const: '12abc' } },
    path: 'actions[2].ops[1].value.const',
    reason: '12abc is not a constant: expected decimal digits, or 0x and hex digits',
  },
  {
    wrong: 'a constant that is neither a number nor a string',
    edit: { 'actions[2].ops[1].value': { const: true } },
    path: 'actions[2].ops[1].value.const',
    reason: 'expected a constant (a non-negative integer or a string of digits), got a boolean',
  },
  {
    wrong: 'a param used in an action without params',
    edit: { 'actions[2].ops[1].value': { param: 'dscp' } },
    path: 'actions[2].ops[1].value.param',
    reason: 'unknown param dscp (this action has no params)',
  },
  {
    wrong: 'a field reference with three parts',
    edit: { 'tables[0].key[1].field': 'tun.id.x' },
    path: 'tables[0].key[1].field',
    reason: 'unknown field tun.id.x',
  },
  {
    wrong: 'a long name, quoted and cut short in the message',
    edit: { 'tables[1].name': 'track all the things that pass by, every one' },
    path: 'tables[1].name',
    reason: '"track all the things that pass by, e... is not a valid name',
  },
  {
    wrong: 'a property whose name is not an identifier, quoted in the path',
    edit: { 'tables[0].1size': 3 },
    path: 'tables[0]."1size"',
    reason: 'unknown property',
  },
  {
    wrong: 'a property whose name has a space, quoted in the path',
    edit: { 'tables[0].size limit': 3 },
    path: 'tables[0]."size limit"',
    reason: 'unknown property',
  },
  {
    wrong: 'tenant headers beyond 64 bytes',
    edit: {
      'headers[1]': { name: 'big', fields: Array.from({ length: 16 }, (_, i) => ({ name: `f${i}`, bits: 32 })) },
      'headers[2]': { name: 'big2', fields: Array.from({ length: 2 }, (_, i) => ({ name: `f${i}`, bits: 8 })) },
    },
    quota: { headerBytes: 1024 },
    path: 'headers',
    reason: '70 bytes in total exceed the limit of 64',
  },
];

describe('validateProgram: the invalid corpus', () => {
  it('has at least 25 cases', () => {
    assert.ok(INVALID.length >= 25, `${INVALID.length} cases`);
  });

  for (const invalid of INVALID) {
    it(`refuses ${invalid.wrong}, at ${invalid.path}, and nothing else`, () => {
      const document = invalid.document ?? edited(invalid.edit ?? {});
      const details = problemsOf(document, context(invalid.quota));
      assert.equal(details.length, 1, `expected exactly one problem, got:\n${details.join('\n')}`);
      assert.ok(details[0].startsWith(`${invalid.path}: `), `wrong path: ${details[0]}`);
      assert.ok(details[0].includes(invalid.reason), `wrong reason: ${details[0]}`);
    });
  }
});

describe('validateProgram: several problems at once', () => {
  it('reports every problem of a program in one error', () => {
    const document = edited({
      'tables[0].key[0].field': 'ipv4.ttll',
      'registers[0].width': 24,
      'actions[0].ops[0].to': 'vm-b1',
      'actions[3].ops[0]': { op: 'resubmit' },
      'metadata[1].name': 'idx',
      'control[2]': { table: 'acl' },
      'tables[0].shape': 'round',
    });
    assert.deepEqual(problemsOf(document, context({ tableEntries: 10 })), [
      'metadata[1].name: duplicate metadata name idx (first declared at metadata[0])',
      'registers[0].width: 24 is not one of 8, 16, 32, 64, 128',
      'actions[0].ops[0].to: vm-b1 is not a VM of tenant-a',
      'actions[3].ops[0].op: resubmit is not a primitive op (the primitives: set, hash, register.read, ' +
        'register.write, register.add, counter.count, drop, forward, mirror, report)',
      'tables[0].shape: unknown property (allowed: name, key, actions, defaultAction, size)',
      'tables[0].key[0].field: unknown field ipv4.ttll',
      'control[2].table: acl is already applied at control[0]: each table is applied at most once',
      'tables: 256 table entries (sum of table sizes) exceed the quota of 10',
    ]);
  });
});
