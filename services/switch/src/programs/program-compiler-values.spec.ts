import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { parseIpv4, ValidationError } from '@tenantlab/shared';
import { compileProgram, compileProgramCode } from './program-compiler';
import type { ActionDecl, Op, TableDecl, TenantProgram } from '@tenantlab/shared';
import type { TableMatch } from './program-table';
import { RegisterMemory } from './register-memory';
import { context, frame, recordingHooks, valid } from './testing/program-fixtures';

/**
 * What compiled programs compute on a frame, for the values the packet path keeps as BigInts (wider than 32 bits)
 * and the operators, hashes, params and counters beside the common case; and what the compiler says when a
 * document it was handed unchecked names something that does not exist.
 */

const SRC_MAC = 0x020000000001n;
const DST_MAC = 0x020000000002n;

function table(name: string, key: TableDecl['key'], actions: string[], defaultAction: string, size = 4): TableDecl {
  return { name, key, actions, defaultAction: { action: defaultAction, args: {} }, size };
}

/** One action run on every packet, reporting `fields` afterwards: what the ops computed. */
function computing(
  metadata: TenantProgram['metadata'],
  ops: Op[],
  fields: string[],
  extra: Partial<TenantProgram> = {},
) {
  const hooks = recordingHooks();
  const report: Op[] = fields.length > 0 ? [{ op: 'report', event: 'out', fields }] : [];
  const action: ActionDecl = { name: 'compute', params: [], ops: [...ops, ...report] };
  const program = compileProgram(
    valid({
      metadata,
      actions: [action],
      tables: [table('t', [], ['compute'], 'compute', 0)],
      control: [{ table: 't' }],
      ...extra,
    }),
    extra.registers === undefined ? {} : { big: { stage: 0, offset: 0, amount: 4 } },
    new RegisterMemory(1, 64),
    hooks,
  );
  return {
    program,
    /** Runs the program on `bytes` and returns what it reported. */
    run: (bytes: Buffer = frame(), inPort = 1) => {
      program.run(context(bytes, inPort));
      return hooks.reports.at(-1)?.fields;
    },
  };
}

describe('compiled expressions: narrow operators', () => {
  it('&, |, ^, + and << on 32-bit values give unsigned results', () => {
    const bits = ['and', 'or', 'xor', 'sum', 'shl'].map((name) => ({ name, bits: 32 }));
    const { run } = computing(
      bits,
      [
        {
          op: 'set',
          target: 'meta.and',
          value: { op: '&', left: { field: 'ipv4.src' }, right: { field: 'ipv4.dst' } },
        },
        { op: 'set', target: 'meta.or', value: { op: '|', left: { field: 'ipv4.src' }, right: { field: 'ipv4.dst' } } },
        {
          op: 'set',
          target: 'meta.xor',
          value: { op: '^', left: { field: 'ipv4.src' }, right: { field: 'ipv4.dst' } },
        },
        {
          op: 'set',
          target: 'meta.sum',
          value: { op: '+', left: { field: 'l4.sport' }, right: { field: 'l4.dport' } },
        },
        { op: 'set', target: 'meta.shl', value: { op: '<<', left: { field: 'l4.dport' }, right: { const: 4 } } },
      ],
      ['meta.and', 'meta.or', 'meta.xor', 'meta.sum', 'meta.shl'],
    );
    const src = parseIpv4('200.0.0.1');
    const dst = parseIpv4('192.168.0.3');
    assert.deepEqual(run(frame({ src: '200.0.0.1', dst: '192.168.0.3', sport: 1000, dport: 80 })), {
      'meta.and': (src & dst) >>> 0,
      'meta.or': (src | dst) >>> 0,
      'meta.xor': (src ^ dst) >>> 0,
      'meta.sum': 1080,
      'meta.shl': 80 * 16,
    });
  });

  it('>> by a count of 32 or more from a field leaves 0 (JavaScript would shift by the count mod 32)', () => {
    const { run } = computing(
      [{ name: 'r', bits: 32 }],
      [{ op: 'set', target: 'meta.r', value: { op: '>>', left: { field: 'ipv4.src' }, right: { field: 'ipv4.ttl' } } }],
      ['meta.r'],
    );
    assert.deepEqual(run(frame({ src: '10.0.0.1', ttl: 8 })), { 'meta.r': parseIpv4('10.0.0.1') >>> 8 });
    assert.deepEqual(run(frame({ src: '10.0.0.1', ttl: 32 })), { 'meta.r': 0 });
    assert.deepEqual(run(frame({ src: '10.0.0.1', ttl: 40 })), { 'meta.r': 0 });
  });
});

describe('compiled expressions: values wider than 32 bits', () => {
  it('&, |, ^, + and - on MAC addresses, wrapping at their 48 bits', () => {
    const names = ['and', 'or', 'xor', 'sum', 'diff'];
    const mac = (op: '&' | '|' | '^' | '+' | '-') => ({ op, left: { field: 'eth.src' }, right: { field: 'eth.dst' } });
    const { run } = computing(
      names.map((name) => ({ name, bits: 64 })),
      [
        { op: 'set', target: 'meta.and', value: mac('&') },
        { op: 'set', target: 'meta.or', value: mac('|') },
        { op: 'set', target: 'meta.xor', value: mac('^') },
        { op: 'set', target: 'meta.sum', value: mac('+') },
        { op: 'set', target: 'meta.diff', value: mac('-') },
      ],
      names.map((name) => `meta.${name}`),
    );
    assert.deepEqual(run(), {
      'meta.and': SRC_MAC & DST_MAC,
      'meta.or': SRC_MAC | DST_MAC,
      'meta.xor': 3n,
      'meta.sum': SRC_MAC + DST_MAC,
      'meta.diff': 0xffffffffffffn,
    });
  });

  it('params are read by their position among their kind: up to 32 bits as numbers, wider ones as BigInts', () => {
    const hooks = recordingHooks();
    const names = ['a', 'x', 'w', 'b'];
    const bits: Record<string, number> = { a: 8, x: 32, w: 64, b: 16 };
    const program = compileProgram(
      valid({
        metadata: names.map((name) => ({ name, bits: bits[name] })),
        actions: [
          {
            name: 'tag',
            params: names.map((name) => ({ name, bits: bits[name] })),
            ops: [
              ...names.map((name): Op => ({ op: 'set', target: `meta.${name}`, value: { param: name } })),
              { op: 'report', event: 'tag', fields: names.map((name) => `meta.${name}`) },
            ],
          },
        ],
        tables: [
          {
            name: 't',
            key: [{ field: 'l4.dport', match: 'exact' }],
            actions: ['tag'],
            defaultAction: { action: 'tag', args: { a: 1, x: '0xfffffffe', w: '0x123456789a', b: 2 } },
            size: 2,
          },
        ],
        control: [{ table: 't' }],
      }),
      {},
      new RegisterMemory(1, 8),
      hooks,
    );
    program.addEntry('t', {
      key: [{ value: 53 }],
      action: 'tag',
      args: { a: 7, x: 3, w: '0xfedcba9876543210', b: 513 },
    });
    program.run(context(frame({ dport: 80 })));
    program.run(context(frame({ dport: 53 })));
    assert.deepEqual(
      hooks.reports.map((r) => r.fields),
      [
        { 'meta.a': 1, 'meta.x': 0xfffffffe, 'meta.w': 0x123456789an, 'meta.b': 2 },
        { 'meta.a': 7, 'meta.x': 3, 'meta.w': 0xfedcba9876543210n, 'meta.b': 513 },
      ],
    );
  });

  it('a constant wider than 32 bits masks a 32-bit field', () => {
    const { run } = computing(
      [{ name: 'm', bits: 32 }],
      [
        {
          op: 'set',
          target: 'meta.m',
          value: { op: '&', left: { field: 'ipv4.src' }, right: { const: '0x1ffffff00' } },
        },
      ],
      ['meta.m'],
    );
    assert.deepEqual(run(frame({ src: '10.1.2.3' })), { 'meta.m': parseIpv4('10.1.2.0') });
  });

  it('a 64-bit register keeps values past 32 bits through write, read and add', () => {
    const { program, run } = computing(
      [
        { name: 'full', bits: 64 },
        { name: 'added', bits: 64 },
      ],
      [
        { op: 'register.write', register: 'big', index: { const: 1 }, value: { const: '0x10000000005' } },
        { op: 'register.read', register: 'big', index: { const: 1 }, into: 'meta.full' },
        {
          op: 'register.add',
          register: 'big',
          index: { const: 2 },
          value: { const: '0x100000000' },
          into: 'meta.added',
        },
      ],
      ['meta.full', 'meta.added'],
      { registers: [{ name: 'big', width: 64, size: 4 }] },
    );
    assert.deepEqual(run(), { 'meta.full': 0x10000000005n, 'meta.added': 0x100000000n });
    assert.deepEqual(run(), { 'meta.full': 0x10000000005n, 'meta.added': 0x200000000n });
    assert.equal(program.memory.read('big', 1), 0x10000000005n);
    assert.equal(program.memory.read('big', 2), 0x200000000n);
  });

  it('a param wider than 32 bits masked by a 16-bit field gives a 16-bit result; added to, it wraps at 64 bits', () => {
    const hooks = recordingHooks();
    const program = compileProgram(
      valid({
        metadata: [
          { name: 'low', bits: 16 },
          { name: 'next', bits: 64 },
        ],
        actions: [
          {
            name: 'mask',
            params: [{ name: 'w', bits: 64 }],
            ops: [
              { op: 'set', target: 'meta.low', value: { op: '&', left: { param: 'w' }, right: { field: 'l4.dport' } } },
              { op: 'set', target: 'meta.next', value: { op: '+', left: { param: 'w' }, right: { const: 1 } } },
              { op: 'report', event: 'out', fields: ['meta.low', 'meta.next'] },
            ],
          },
        ],
        tables: [
          {
            name: 't',
            key: [],
            actions: ['mask'],
            defaultAction: { action: 'mask', args: { w: '0xffffffffffffffff' } },
            size: 0,
          },
        ],
        control: [{ table: 't' }],
      }),
      {},
      new RegisterMemory(1, 8),
      hooks,
    );
    program.run(context(frame({ dport: 80 })));
    assert.deepEqual(hooks.reports.at(-1)?.fields, { 'meta.low': 80, 'meta.next': 0n });
  });

  it('a 64-bit constant and a sum past 2^53 keep every bit (a double would round them)', () => {
    const { run } = computing(
      [
        { name: 'c', bits: 64 },
        { name: 's', bits: 64 },
      ],
      [
        { op: 'set', target: 'meta.c', value: { const: '0xfedcba9876543211' } },
        { op: 'set', target: 'meta.s', value: { op: '+', left: { field: 'meta.c' }, right: { const: 2 } } },
      ],
      ['meta.c', 'meta.s'],
    );
    assert.deepEqual(run(), { 'meta.c': 0xfedcba9876543211n, 'meta.s': 0xfedcba9876543213n });
  });

  it('a guard on a MAC address compares all 48 bits', () => {
    const deny: ActionDecl = { name: 'deny', params: [], ops: [{ op: 'drop' }] };
    const guarded = (op: '==' | '!=') =>
      compileProgram(
        valid({
          actions: [deny],
          tables: [table('t', [], ['deny'], 'deny', 0)],
          control: [{ table: 't', if: { field: 'eth.src', op, value: '0x020000000001' } }],
        }),
        {},
        new RegisterMemory(1, 8),
        recordingHooks(),
      );
    const otherMac = frame();
    otherMac.writeUInt8(0x03, 6); // source MAC 03:00:00:00:00:01: only the top byte differs
    assert.equal(guarded('==').run(context(frame())).kind, 'drop');
    assert.equal(guarded('==').run(context(otherMac)).kind, 'continue');
    assert.equal(guarded('!=').run(context(frame())).kind, 'continue');
    assert.equal(guarded('!=').run(context(otherMac)).kind, 'drop');
  });

  it('counts at an index taken modulo the counter size from a MAC; packets, bytes and both kinds', () => {
    const { program, run } = computing(
      [],
      [
        { op: 'counter.count', counter: 'by_mac', index: { field: 'eth.src' } },
        { op: 'counter.count', counter: 'bytes', index: { field: 'std.in_port' } },
        { op: 'counter.count', counter: 'both', index: { const: 0 } },
      ],
      [],
      {
        counters: [
          { name: 'by_mac', size: 4, kind: 'packets' },
          { name: 'bytes', size: 4, kind: 'bytes' },
          { name: 'both', size: 2, kind: 'both' },
        ],
      },
    );
    const bytes = frame();
    run(bytes, 2);
    run(bytes, 2);
    const at = Number(SRC_MAC % 4n);
    assert.deepEqual(program.counter('by_mac', at), { packets: 2, bytes: 0 });
    assert.deepEqual(program.counter('bytes', 2), { packets: 0, bytes: 2 * bytes.length });
    assert.deepEqual(program.counter('both', 0), { packets: 2, bytes: 2 * bytes.length });
    assert.deepEqual(program.counter('by_mac', at - 4), { packets: 2, bytes: 0 }, 'a negative index counts back');
    assert.deepEqual(program.counter('both', Number.NaN), { packets: 2, bytes: 2 * bytes.length }, 'NaN reads cell 0');
    assert.throws(() => program.counter('nope', 0), /program test_program has no counter nope/);
    assert.throws(() => program.entryCount('nope'), /program test_program has no table nope/);
  });
});

describe('compiled hashes over several fields, wide fields and bit fields', () => {
  it('identity concatenates the fields, most significant first, and reduces modulo the bound', () => {
    const { run } = computing(
      [
        { name: 'pair', bits: 32 },
        { name: 'mac', bits: 32 },
      ],
      [
        { op: 'hash', algorithm: 'identity', fields: ['ipv4.ttl', 'l4.dport'], bound: 1_000_003, into: 'meta.pair' },
        { op: 'hash', algorithm: 'identity', fields: ['eth.src'], bound: 1000, into: 'meta.mac' },
      ],
      ['meta.pair', 'meta.mac'],
    );
    assert.deepEqual(run(frame({ ttl: 64, dport: 80 })), {
      'meta.pair': ((64 << 16) | 80) % 1_000_003,
      'meta.mac': Number(SRC_MAC % 1000n),
    });
  });

  it('crc32 hashes the big-endian bytes of the concatenation, whatever the fields’ widths', () => {
    const { run } = computing(
      [
        { name: 'bits', bits: 32 },
        { name: 'wide', bits: 32 },
        { name: 'bytes', bits: 32 },
        { name: 'dscp', bits: 32 },
        { name: 'mac', bits: 32 },
      ],
      [
        { op: 'set', target: 'ipv4.dscp', value: { const: 46 } },
        { op: 'hash', algorithm: 'crc32', fields: ['ipv4.dscp', 'ipv4.ttl'], bound: 2 ** 32, into: 'meta.bits' },
        { op: 'hash', algorithm: 'crc32', fields: ['ipv4.src', 'eth.src'], bound: 1000, into: 'meta.wide' },
        { op: 'hash', algorithm: 'crc32', fields: ['ipv4.src', 'l4.dport'], bound: 1000, into: 'meta.bytes' },
        { op: 'hash', algorithm: 'crc32', fields: ['ipv4.dscp'], bound: 2 ** 32, into: 'meta.dscp' },
        { op: 'hash', algorithm: 'crc32', fields: ['eth.src'], bound: 2 ** 32, into: 'meta.mac' },
      ],
      ['meta.bits', 'meta.wide', 'meta.bytes', 'meta.dscp', 'meta.mac'],
    );
    const crc = (hex: string) => zlibCrc32(Buffer.from(hex, 'hex'));
    // dscp (6 bits) then ttl (8 bits): the 14-bit number 46 << 8 | 64 as two bytes.
    assert.deepEqual(run(frame({ src: '10.0.0.1', ttl: 64, dport: 80 })), {
      'meta.bits': crc(((46 << 8) | 64).toString(16).padStart(4, '0')),
      'meta.wide': crc('0a000001' + '020000000001') % 1000,
      'meta.bytes': crc('0a000001' + '0050') % 1000,
      'meta.dscp': crc('2e'),
      'meta.mac': crc('020000000001'),
    });
  });
});

describe('compiled programs: control flow and the flow cache', () => {
  const deny: ActionDecl = { name: 'deny', params: [], ops: [{ op: 'drop' }] };
  const allow: ActionDecl = { name: 'allow', params: [], ops: [] };
  const toVm: ActionDecl = { name: 'to_vm', params: [], ops: [{ op: 'forward', to: 'vm-2' }] };
  const tagged: ActionDecl = {
    name: 'tagged',
    params: [],
    ops: [{ op: 'counter.count', counter: 'seen', index: { const: 0 } }],
  };

  function twoSteps(guardPort = 80) {
    return compileProgram(
      valid({
        counters: [{ name: 'seen', size: 1, kind: 'packets' }],
        actions: [allow, deny, toVm, tagged],
        tables: [
          table('acl', [{ field: 'l4.dport', match: 'exact' }], ['allow', 'deny'], 'allow'),
          table('route', [{ field: 'ipv4.dst', match: 'exact' }], ['to_vm', 'tagged'], 'tagged'),
        ],
        control: [{ table: 'acl' }, { table: 'route', if: { field: 'l4.dport', op: '==', value: guardPort } }],
      }),
      {},
      new RegisterMemory(1, 8),
      recordingHooks(),
    );
  }

  it('a drop ends the program: no later control step runs, and the verdict stays drop', () => {
    // The route step's guard holds for the dropped frame: had it run, it would have forwarded the frame.
    const program = twoSteps(22);
    program.addEntry('acl', { key: [{ value: 22 }], action: 'deny' });
    program.addEntry('route', { key: [{ value: parseIpv4('10.0.0.2') }], action: 'to_vm' });
    assert.deepEqual(program.run(context(frame({ dport: 22 }))), { kind: 'drop' });
    const lookups: (TableMatch | null)[] = [];
    assert.deepEqual(program.runRemembering(context(frame({ dport: 22 })), lookups), { kind: 'drop' });
    assert.equal(lookups[1], null, 'the route step was not looked up');
    assert.deepEqual(program.counter('seen', 0), { packets: 0, bytes: 0 });
  });

  it('remembers what each step found and replays it on a later packet without looking up again', () => {
    const program = twoSteps();
    program.addEntry('acl', { key: [{ value: 22 }], action: 'deny' });
    program.addEntry('route', { key: [{ value: parseIpv4('10.0.0.2') }], action: 'to_vm' });

    const forwarded: TableMatch[] = [];
    assert.deepEqual(program.runRemembering(context(frame({ dport: 80 })), forwarded), { kind: 'forward', vm: 'vm-2' });
    assert.equal(forwarded.length, 2);
    assert.equal(forwarded[0], undefined, 'acl found no entry: its default action ran');
    assert.notEqual(forwarded[1], undefined, 'route found the entry for 10.0.0.2');
    assert.notEqual(forwarded[1], null);

    const guardedOut: (TableMatch | null)[] = [];
    assert.deepEqual(program.runRemembering(context(frame({ dport: 443 })), guardedOut), { kind: 'continue' });
    assert.deepEqual(guardedOut, [undefined, null], 'the route step did not run: its guard did not hold');

    const dropped: (TableMatch | null)[] = [undefined, undefined, undefined];
    assert.deepEqual(program.runRemembering(context(frame({ dport: 22 })), dropped), { kind: 'drop' });
    assert.equal(dropped.length, 2, 'one slot per control step, whatever the array held');
    assert.equal(dropped[1], null, 'nothing after the drop ran');

    // Replays: the frames differ, the remembered lookups decide.
    const other = frame({ dport: 443, dst: '10.9.9.9' });
    assert.deepEqual(program.runRemembered(context(other), forwarded), { kind: 'forward', vm: 'vm-2' });
    assert.deepEqual(program.runRemembered(context(other), dropped), { kind: 'drop' });
    assert.deepEqual(program.runRemembered(context(other), guardedOut), { kind: 'continue' });
    assert.deepEqual(
      program.runRemembered(context(other), [dropped[0], forwarded[1]]),
      { kind: 'drop' },
      'a remembered drop ends the replay before the remembered forward',
    );
    assert.deepEqual(program.counter('seen', 0), { packets: 0, bytes: 0 }, 'no replay ran the route default');
    assert.deepEqual(program.runRemembered(context(other), [undefined, undefined]), { kind: 'continue' });
    assert.deepEqual(program.counter('seen', 0), { packets: 1, bytes: 0 }, 'a remembered miss runs the default');
  });

  it('entriesGeneration grows when an entry is removed, not when a removal finds nothing', () => {
    const program = twoSteps();
    program.addEntry('acl', { key: [{ value: 22 }], action: 'deny' });
    assert.equal(program.entriesGeneration, 1);
    assert.equal(program.removeEntry('acl', [{ value: 23 }]), false);
    assert.equal(program.entriesGeneration, 1);
    assert.equal(program.removeEntry('acl', [{ value: 22 }]), true);
    assert.equal(program.entriesGeneration, 2);
  });

  it('names the program and version it runs', () => {
    const program = twoSteps();
    assert.equal(program.tenant, 'tenant-a');
    assert.equal(program.name, 'test_program');
    assert.equal(program.version, 1);
  });

  const FLOW_FIELDS = [
    'std.in_port',
    'eth.src',
    'eth.dst',
    'eth.type',
    'ipv4.src',
    'ipv4.dst',
    'ipv4.proto',
    'l4.sport',
    'l4.dport',
  ];

  function cacheable(parts: Partial<TenantProgram>): boolean {
    return compileProgram(valid(parts), {}, new RegisterMemory(1, 8), recordingHooks()).flowCacheable;
  }

  it('is flow-cacheable when its lookups and guards read only the flow key and no action rewrites it', () => {
    const setTtl: ActionDecl = {
      name: 'set_ttl',
      params: [],
      ops: [{ op: 'set', target: 'ipv4.ttl', value: { const: 9 } }],
    };
    // One table per flow-key field, each the only key of its table, so each field alone is judged.
    const perField = FLOW_FIELDS.map((field, i) => table(`k${i}`, [{ field, match: 'exact' }], ['allow'], 'allow'));
    assert.equal(
      cacheable({
        actions: [allow, setTtl],
        tables: [...perField, table('rewrite', [], ['set_ttl'], 'set_ttl', 0)],
        control: [
          ...perField.map((t, i) => ({ table: t.name, if: { field: FLOW_FIELDS[i], op: '!=' as const, value: 1 } })),
          { table: 'rewrite' },
        ],
      }),
      true,
      'a set of a field outside the flow key (ipv4.ttl) keeps it cacheable',
    );
  });

  it('is not flow-cacheable when a lookup, a guard or a rewrite involves a per-packet or flow-key field', () => {
    const setDst: ActionDecl = {
      name: 'set_dst',
      params: [],
      ops: [{ op: 'set', target: 'ipv4.dst', value: { const: 1 } }],
    };
    const byTtl = table('by_ttl', [{ field: 'ipv4.ttl', match: 'exact' }], ['allow'], 'allow');
    const bySrc = table('by_src', [{ field: 'ipv4.src', match: 'exact' }], ['allow'], 'allow');
    const bySrcAndTtl = table(
      'by_src_ttl',
      [
        { field: 'ipv4.src', match: 'exact' },
        { field: 'ipv4.ttl', match: 'exact' },
      ],
      ['allow'],
      'allow',
    );
    assert.equal(cacheable({ actions: [allow], tables: [bySrc], control: [{ table: 'by_src' }] }), true);
    assert.equal(
      cacheable({ actions: [allow], tables: [bySrc, byTtl], control: [{ table: 'by_src' }, { table: 'by_ttl' }] }),
      false,
      'one table keyed on the TTL',
    );
    assert.equal(
      cacheable({ actions: [allow], tables: [bySrcAndTtl], control: [{ table: 'by_src_ttl' }] }),
      false,
      'one key field of a table is the TTL',
    );
    assert.equal(
      cacheable({
        actions: [allow],
        tables: [bySrc],
        control: [{ table: 'by_src', if: { field: 'ipv4.ttl', op: '==', value: 1 } }],
      }),
      false,
      'a guard on the TTL',
    );
    assert.equal(
      cacheable({
        actions: [allow],
        tables: [bySrc, table('by_dst', [{ field: 'ipv4.dst', match: 'exact' }], ['allow'], 'allow')],
        control: [{ table: 'by_src' }, { table: 'by_dst', if: { field: 'ipv4.ttl', op: '==', value: 1 } }],
      }),
      false,
      'one of two steps guarded on the TTL',
    );
    assert.equal(
      cacheable({
        actions: [allow, setDst],
        tables: [table('t', [{ field: 'ipv4.src', match: 'exact' }], ['allow', 'set_dst'], 'set_dst')],
        control: [{ table: 't' }],
      }),
      false,
      'an action rewrites the destination address',
    );
  });
});

describe('compileProgramCode: documents that name what does not exist', () => {
  const base: TenantProgram = {
    name: 'unchecked',
    version: 1,
    headers: [],
    metadata: [{ name: 'm', bits: 8 }],
    registers: [],
    counters: [],
    actions: [{ name: 'allow', params: [], ops: [] }],
    tables: [table('t', [], ['allow'], 'allow', 0)],
    control: [{ table: 't' }],
  };
  const withOps = (ops: Op[]): TenantProgram => ({ ...base, actions: [{ name: 'allow', params: [], ops }] });

  it('says which action, table, register, counter or param is unknown', () => {
    assert.throws(
      () => compileProgramCode({ ...base, tables: [table('t', [], ['allow'], 'ghost_action', 0)] }),
      /unknown action ghost_action/,
    );
    assert.throws(
      () => compileProgramCode({ ...base, control: [{ table: 'ghost_table' }] }),
      /unknown table ghost_table/,
    );
    assert.throws(
      () =>
        compileProgramCode(
          withOps([{ op: 'register.read', register: 'ghost_reg', index: { const: 0 }, into: 'meta.m' }]),
        ),
      /unknown register ghost_reg/,
    );
    assert.throws(
      () => compileProgramCode(withOps([{ op: 'counter.count', counter: 'ghost_counter', index: { const: 0 } }])),
      /unknown counter ghost_counter/,
    );
    assert.throws(
      () => compileProgramCode(withOps([{ op: 'set', target: 'meta.m', value: { param: 'ghost_param' } }])),
      /unknown param ghost_param/,
    );
  });

  it('refuses a default action whose args do not fit its params, naming the table and the param', () => {
    const mark: ActionDecl = { name: 'mark', params: [{ name: 'dscp', bits: 6 }], ops: [] };
    const program: TenantProgram = {
      ...base,
      actions: [mark],
      tables: [
        { name: 'qos', key: [], actions: ['mark'], defaultAction: { action: 'mark', args: { dscp: 64 } }, size: 0 },
      ],
      control: [{ table: 'qos' }],
    };
    assert.throws(
      () => compileProgramCode(program),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError, String(error));
        assert.equal(error.message, 'Default action of table qos rejected.');
        assert.ok(error.details.length > 0);
        for (const detail of error.details) assert.match(detail, /dscp.*does not fit in 6 bits/);
        return true;
      },
    );
  });
});

describe('hashes over the flow key, computed once per flow (FlowHashes)', () => {
  /** Hashes a flow-key field set into meta.h and the TTL (not in the flow key) into meta.t, then reports both. */
  function hashing(rewriteDst = false) {
    const hooks = recordingHooks();
    const ops: Op[] = [
      ...(rewriteDst ? [{ op: 'set', target: 'ipv4.dst', value: { field: 'l4.dport' } } as Op] : []),
      { op: 'hash', algorithm: 'crc32', fields: ['ipv4.dst', 'l4.dport'], bound: 65_536, into: 'meta.h' },
      { op: 'hash', algorithm: 'crc32', fields: ['ipv4.ttl'], bound: 65_536, into: 'meta.t' },
      { op: 'report', event: 'out', fields: ['meta.h', 'meta.t'] },
    ];
    const program = compileProgram(
      valid({
        metadata: [
          { name: 'h', bits: 32 },
          { name: 't', bits: 32 },
        ],
        actions: [{ name: 'compute', params: [], ops }],
        tables: [table('t', [], ['compute'], 'compute', 0)],
        control: [{ table: 't' }],
      }),
      {},
      new RegisterMemory(1, 8),
      hooks,
    );
    const reported = () => hooks.reports.at(-1)?.fields;
    return { program, reported };
  }

  it('keeps a flow-key hash from the first packet and serves later packets of the flow from it', () => {
    const { program, reported } = hashing();
    assert.equal(program.flowCacheable, true);
    const first = frame({ dport: 80 });
    const lookups: (TableMatch | null)[] = [];
    const hashes: number[] = [];
    program.runRemembering(context(first), lookups, hashes);
    const atFirst = reported()!;
    assert.deepEqual(hashes, [atFirst['meta.h']], 'one slot: the hash over ipv4.dst and l4.dport');

    // Another frame run plainly hashes its own fields ...
    const other = frame({ dport: 443, ttl: 9 });
    program.run(context(other));
    const plain = reported()!;
    assert.notEqual(plain['meta.h'], atFirst['meta.h'], 'the two frames hash apart');
    // ... and with the flow's hashes the kept value is served; the TTL's hash is computed for the packet.
    program.runRemembered(context(other), lookups, hashes);
    assert.deepEqual(reported(), { 'meta.h': atFirst['meta.h'], 'meta.t': plain['meta.t'] });
  });

  it('computes a slot the first packet did not reach, and keeps it', () => {
    const { program, reported } = hashing();
    const hashes: number[] = [];
    program.runRemembered(context(frame({ dport: 80 })), [undefined], hashes);
    assert.deepEqual(hashes, [reported()!['meta.h']]);
  });

  it('keeps nothing for a program that rewrites a flow-key field: each packet hashes what it carries', () => {
    const { program, reported } = hashing(true);
    assert.equal(program.flowCacheable, false);
    const hashes: number[] = [];
    program.runRemembering(context(frame({ dport: 80 })), [], hashes);
    const atFirst = reported()!['meta.h'];
    program.runRemembered(context(frame({ dport: 443 })), [undefined], hashes);
    assert.deepEqual(hashes, []);
    assert.notEqual(reported()!['meta.h'], atFirst);
  });
});
