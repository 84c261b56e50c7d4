import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, ipv4HeaderChecksum, parseIpv4, ValidationError, verifyL4Checksum } from '@tenantlab/shared';
import { compileProgram } from './program-compiler';
import type { ActionDecl, TableDecl } from '@tenantlab/shared';
import { RegisterMemory } from './register-memory';
import { context, frame, recordingHooks, valid } from './testing/program-fixtures';

const allow: ActionDecl = { name: 'allow', params: [], ops: [] };
const deny: ActionDecl = { name: 'deny', params: [], ops: [{ op: 'drop' }] };
const toVm: ActionDecl = {
  name: 'to_vm',
  params: [],
  ops: [{ op: 'forward', to: 'vm-2' }],
};

function table(name: string, key: TableDecl['key'], actions: string[], size = 16, defaultAction = 'allow'): TableDecl {
  return { name, key, actions, defaultAction: { action: defaultAction, args: {} }, size };
}

function compile(parts: Parameters<typeof valid>[0], memory = new RegisterMemory(1, 64), pageTable = {}) {
  const hooks = recordingHooks();
  return { program: compileProgram(valid(parts), pageTable, memory, hooks), hooks, memory };
}

describe('compileProgram: tables', () => {
  it('exact match over two keys, default action otherwise', () => {
    const { program } = compile({
      actions: [allow, deny],
      tables: [
        table(
          'acl',
          [
            { field: 'ipv4.src', match: 'exact' },
            { field: 'l4.dport', match: 'exact' },
          ],
          ['allow', 'deny'],
        ),
      ],
      control: [{ table: 'acl' }],
    });
    program.addEntry('acl', { key: [{ value: parseIpv4('10.0.0.9') }, { value: 22 }], action: 'deny' });
    assert.deepEqual(program.run(context(frame({ src: '10.0.0.9', dport: 22 }))), { kind: 'drop' });
    assert.deepEqual(program.run(context(frame({ src: '10.0.0.9', dport: 80 }))), { kind: 'continue' });
    assert.deepEqual(program.run(context(frame({ src: '10.0.0.8', dport: 22 }))), { kind: 'continue' });
    assert.equal(program.removeEntry('acl', [{ value: parseIpv4('10.0.0.9') }, { value: 22 }]), true);
    assert.equal(program.removeEntry('acl', [{ value: parseIpv4('10.0.0.9') }, { value: 22 }]), false);
    assert.deepEqual(program.run(context(frame({ src: '10.0.0.9', dport: 22 }))), { kind: 'continue' });
  });

  it('exact match on a key wider than 53 bits (MAC and ports) uses string keys', () => {
    const { program } = compile({
      actions: [allow, deny],
      tables: [
        table(
          'macs',
          [
            { field: 'eth.src', match: 'exact' },
            { field: 'l4.sport', match: 'exact' },
          ],
          ['allow', 'deny'],
        ),
      ],
      control: [{ table: 'macs' }],
    });
    program.addEntry('macs', { key: [{ value: '0x020000000001' }, { value: 1000 }], action: 'deny' });
    assert.equal(program.run(context(frame())).kind, 'drop');
    assert.equal(program.run(context(frame({ sport: 1001 }))).kind, 'continue');
  });

  it('ternary: the highest priority matching entry wins, whatever the insertion order', () => {
    const { program } = compile({
      actions: [allow, deny, toVm],
      tables: [table('t', [{ field: 'ipv4.dst', match: 'ternary' }], ['allow', 'deny', 'to_vm'])],
      control: [{ table: 't' }],
    });
    program.addEntry('t', { key: [{ value: parseIpv4('10.0.0.0'), mask: 0xff000000 }], action: 'deny', priority: 1 });
    program.addEntry('t', { key: [{ value: parseIpv4('10.0.0.2'), mask: 0xffffffff }], action: 'to_vm', priority: 5 });
    program.addEntry('t', { key: [{ value: 0, mask: 0 }], action: 'allow', priority: 0 });
    assert.deepEqual(program.run(context(frame({ dst: '10.0.0.2' }))), { kind: 'forward', vm: 'vm-2' });
    assert.deepEqual(program.run(context(frame({ dst: '10.9.9.9' }))), { kind: 'drop' });
    assert.deepEqual(program.run(context(frame({ dst: '11.0.0.1' }))), { kind: 'continue' });
  });

  it('lpm: the longest prefix wins', () => {
    const { program } = compile({
      actions: [allow, deny, toVm],
      tables: [table('routes', [{ field: 'ipv4.dst', match: 'lpm' }], ['allow', 'deny', 'to_vm'], 16, 'deny')],
      control: [{ table: 'routes' }],
    });
    program.addEntry('routes', { key: [{ value: parseIpv4('10.0.0.0'), prefixLength: 8 }], action: 'allow' });
    program.addEntry('routes', { key: [{ value: parseIpv4('10.1.2.0'), prefixLength: 24 }], action: 'to_vm' });
    program.addEntry('routes', { key: [{ value: parseIpv4('10.1.0.0'), prefixLength: 16 }], action: 'deny' });
    assert.equal(program.run(context(frame({ dst: '10.1.2.3' }))).kind, 'forward');
    assert.equal(program.run(context(frame({ dst: '10.1.9.9' }))).kind, 'drop');
    assert.equal(program.run(context(frame({ dst: '10.2.0.1' }))).kind, 'continue');
    assert.equal(program.run(context(frame({ dst: '192.168.0.1' }))).kind, 'drop', 'default action');
  });

  it('control-step guards decide whether a table applies', () => {
    const { program } = compile({
      actions: [allow, deny],
      tables: [table('t', [], ['allow', 'deny'], 0, 'deny')],
      control: [{ table: 't', if: { field: 'l4.dport', op: '==', value: 23 } }],
    });
    assert.equal(program.run(context(frame({ dport: 23 }))).kind, 'drop');
    assert.equal(program.run(context(frame({ dport: 24 }))).kind, 'continue');
  });
});

describe('compileProgram: table entry validation', () => {
  const parts = {
    actions: [allow, deny, { name: 'mark', params: [{ name: 'dscp', bits: 6 }], ops: [] }],
    tables: [
      table('e', [{ field: 'l4.dport', match: 'exact' }], ['allow', 'mark'], 2),
      table('t', [{ field: 'ipv4.ttl', match: 'ternary' }], ['allow']),
      table('l', [{ field: 'ipv4.dst', match: 'lpm' }], ['allow']),
    ],
  };

  function rejects(fn: () => void, detail: RegExp): void {
    assert.throws(fn, (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.ok(
        error.details.some((d) => detail.test(d)),
        `no detail matches ${String(detail)}: ${error.details.join('; ')}`,
      );
      return true;
    });
  }

  it('names each problem: arity, width, action, args, masks, prefixes, priority', () => {
    const { program } = compile(parts);
    rejects(() => program.addEntry('e', { key: [], action: 'allow' }), /has 0 values.*matches on 1: l4\.dport/);
    rejects(
      () => program.addEntry('e', { key: [{ value: 65536 }], action: 'allow' }),
      /does not fit in the field's 16/,
    );
    rejects(() => program.addEntry('e', { key: [{ value: -1 }], action: 'allow' }), /unsigned integer/);
    rejects(() => program.addEntry('e', { key: [{ value: 1 }], action: 'deny' }), /deny is not one of table e/);
    rejects(() => program.addEntry('e', { key: [{ value: 1 }], action: 'mark' }), /args\.dscp: missing/);
    rejects(
      () => program.addEntry('e', { key: [{ value: 1 }], action: 'mark', args: { dscp: 64 } }),
      /does not fit in 6 bits/,
    );
    rejects(
      () => program.addEntry('e', { key: [{ value: 1 }], action: 'mark', args: { dscp: 1, x: 2 } }),
      /args\.x: action mark has no such param/,
    );
    rejects(() => program.addEntry('e', { key: [{ value: 1, mask: 1 }], action: 'allow' }), /only ternary/);
    rejects(() => program.addEntry('e', { key: [{ value: 1 }], action: 'allow', priority: 3 }), /priority/);
    rejects(() => program.addEntry('t', { key: [{ value: 3, mask: 1 }], action: 'allow' }), /outside the mask/);
    rejects(() => program.addEntry('l', { key: [{ value: 0 }], action: 'allow' }), /prefixLength must be/);
    rejects(() => program.addEntry('l', { key: [{ value: 0, prefixLength: 33 }], action: 'allow' }), /0 to 32/);
    rejects(() => program.addEntry('l', { key: [{ value: 0xff, prefixLength: 24 }], action: 'allow' }), /outside/);
  });

  it('refuses an entry when the table is full, and a duplicate match', () => {
    const { program } = compile(parts);
    program.addEntry('e', { key: [{ value: 1 }], action: 'allow' });
    assert.throws(() => program.addEntry('e', { key: [{ value: 1 }], action: 'allow' }), ConflictError);
    program.addEntry('e', { key: [{ value: 2 }], action: 'mark', args: { dscp: '0x3f' } });
    assert.throws(() => program.addEntry('e', { key: [{ value: 3 }], action: 'allow' }), /full \(2 entries\)/);
    assert.equal(program.entryCount('e'), 2);
  });
});

describe('compileProgram: ops', () => {
  it('set with expressions: ttl - 1 wraps at 8 bits, IPv4 and UDP checksums stay right', () => {
    const { program } = compile({
      metadata: [{ name: 'wide', bits: 64 }],
      actions: [
        {
          name: 'rewrite',
          params: [{ name: 'port', bits: 16 }],
          ops: [
            { op: 'set', target: 'ipv4.ttl', value: { op: '-', left: { field: 'ipv4.ttl' }, right: { const: 1 } } },
            { op: 'set', target: 'ipv4.dst', value: { const: '0x0a000063' } },
            { op: 'set', target: 'ipv4.dscp', value: { const: 46 } },
            { op: 'set', target: 'l4.dport', value: { param: 'port' } },
            { op: 'set', target: 'meta.wide', value: { op: '<<', left: { field: 'ipv4.src' }, right: { const: 32 } } },
            { op: 'set', target: 'ipv4.src', value: { op: '>>', left: { field: 'meta.wide' }, right: { const: 32 } } },
          ],
        },
      ],
      tables: [
        {
          name: 't',
          key: [],
          actions: ['rewrite'],
          defaultAction: { action: 'rewrite', args: { port: 8080 } },
          size: 0,
        },
      ],
      control: [{ table: 't' }],
    });
    for (const ttl of [64, 0]) {
      const bytes = frame({ ttl });
      const ctx = context(bytes);
      program.run(ctx);
      const l3 = ctx.view.l3Offset;
      assert.equal(bytes[l3 + 8], ttl === 0 ? 255 : 63);
      assert.equal(ctx.view.ttl, bytes[l3 + 8], 'the view follows the write');
      assert.equal(bytes.readUInt32BE(l3 + 16), 0x0a000063);
      assert.equal(bytes[l3 + 1] >>> 2, 46);
      assert.equal(bytes.readUInt16BE(ctx.view.l4Offset + 2), 8080);
      assert.equal(bytes.readUInt32BE(l3 + 12), parseIpv4('10.0.0.1'));
      assert.equal(ipv4HeaderChecksum(bytes, l3, ctx.view.ipHeaderLength), 0, 'IPv4 header checksum fixed');
      assert.ok(verifyL4Checksum(bytes, ctx.view), 'UDP checksum fixed');
    }
  });

  it('TCP port and address rewrites keep the TCP checksum right', () => {
    const { program } = compile({
      actions: [
        {
          name: 'nat',
          params: [],
          ops: [
            { op: 'set', target: 'ipv4.src', value: { const: '0xc0a80001' } },
            { op: 'set', target: 'l4.sport', value: { const: 40000 } },
            { op: 'set', target: 'eth.dst', value: { const: '0x0200000000ff' } },
          ],
        },
      ],
      tables: [table('t', [], ['nat'], 0, 'nat')],
      control: [{ table: 't' }],
    });
    const bytes = frame({ tcp: true });
    const ctx = context(bytes);
    program.run(ctx);
    assert.equal(ctx.view.ipSrc, 0xc0a80001);
    assert.equal(bytes.readUInt16BE(ctx.view.l4Offset), 40000);
    assert.equal(bytes.subarray(0, 6).toString('hex'), '0200000000ff');
    assert.equal(ctx.view.dstMacLo, 0xff);
    assert.equal(ipv4HeaderChecksum(bytes, ctx.view.l3Offset, ctx.view.ipHeaderLength), 0);
    assert.ok(verifyL4Checksum(bytes, ctx.view));
  });

  it('reads and writes tenant header bit fields at payloadOffset; a short payload reads 0', () => {
    const { program, hooks } = compile({
      headers: [
        {
          name: 'tag',
          fields: [
            { name: 'kind', bits: 4 },
            { name: 'flow', bits: 20 },
            { name: 'big', bits: 40 },
          ],
        },
      ],
      actions: [
        {
          name: 'bump',
          params: [],
          ops: [
            { op: 'report', event: 'before', fields: ['tag.kind', 'tag.flow', 'tag.big'] },
            { op: 'set', target: 'tag.flow', value: { op: '+', left: { field: 'tag.flow' }, right: { const: 1 } } },
            { op: 'set', target: 'tag.big', value: { const: '0xffffffffff' } },
            { op: 'set', target: 'tag.kind', value: { const: 9 } },
          ],
        },
      ],
      tables: [table('t', [], ['bump'], 0, 'bump')],
      control: [{ table: 't' }],
    });
    const payload = Buffer.from([0x3f, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05]);
    const bytes = frame({ payload });
    const ctx = context(bytes);
    program.run(ctx);
    assert.deepEqual(hooks.reports[0].fields, { 'tag.kind': 3, 'tag.flow': 0xfffff, 'tag.big': 0x0102030405n });
    assert.equal(bytes.subarray(ctx.view.payloadOffset).toString('hex'), '90000' + '0ffffffffff');
    assert.ok(verifyL4Checksum(bytes, ctx.view), 'UDP checksum follows the payload write');

    const short = context(frame({ payload: Buffer.alloc(4, 0xff) }));
    program.run(short);
    assert.deepEqual(hooks.reports[1].fields, { 'tag.kind': 0, 'tag.flow': 0, 'tag.big': 0n });
    assert.equal(short.frame.subarray(short.view.payloadOffset).toString('hex'), 'ffffffff', 'writes ignored');
  });

  it('hash, register read/write/add, counters, mirror, report, forward; drop stops the program', () => {
    const memory = new RegisterMemory(2, 64);
    const { program, hooks } = compile(
      {
        metadata: [
          { name: 'h', bits: 16 },
          { name: 'seen', bits: 32 },
          { name: 'total', bits: 64 },
        ],
        registers: [
          { name: 'hits', width: 32, size: 8 },
          { name: 'bytes', width: 64, size: 4 },
        ],
        counters: [{ name: 'per_port', size: 4, kind: 'both' }],
        actions: [
          {
            name: 'track',
            params: [],
            ops: [
              { op: 'hash', algorithm: 'crc16', fields: ['ipv4.src', 'l4.sport'], bound: 8, into: 'meta.h' },
              {
                op: 'register.add',
                register: 'hits',
                index: { field: 'meta.h' },
                value: { const: 1 },
                into: 'meta.seen',
              },
              { op: 'register.add', register: 'bytes', index: { const: 0 }, value: { field: 'std.length' } },
              { op: 'register.read', register: 'bytes', index: { const: 0 }, into: 'meta.total' },
              { op: 'register.write', register: 'hits', index: { const: 7 }, value: { field: 'meta.h' } },
              { op: 'counter.count', counter: 'per_port', index: { field: 'std.in_port' } },
              { op: 'mirror' },
              { op: 'report', event: 'seen', fields: ['meta.h', 'meta.seen', 'meta.total'] },
              { op: 'forward', to: 'vm-9' },
            ],
          },
          { name: 'stop', params: [], ops: [{ op: 'drop' }, { op: 'mirror' }] },
        ],
        tables: [
          table('a', [], ['track'], 0, 'track'),
          table('b', [{ field: 'l4.dport', match: 'exact' }], ['stop', 'track'], 4, 'track'),
        ],
        control: [{ table: 'a' }, { table: 'b', if: { field: 'l4.dport', op: '==', value: 53 } }],
      },
      memory,
      { hits: { stage: 0, offset: 8, amount: 8 }, bytes: { stage: 1, offset: 0, amount: 4 } },
    );
    const bytes = frame();
    const verdict = program.run(context(bytes, 2));
    assert.deepEqual(verdict, { kind: 'forward', vm: 'vm-9' });
    const report = hooks.reports[0].fields;
    const h = report['meta.h'] as number;
    assert.ok(h >= 0 && h < 8);
    assert.equal(report['meta.seen'], 1);
    assert.equal(report['meta.total'], BigInt(bytes.length));
    assert.equal(program.memory.read('hits', h), h === 7 ? 7n : 1n);
    assert.equal(program.memory.read('hits', 7), BigInt(h));
    assert.deepEqual(program.counter('per_port', 2), { packets: 1, bytes: bytes.length });
    assert.deepEqual(hooks.mirrored, [bytes.length]);

    program.addEntry('b', { key: [{ value: 53 }], action: 'stop' });
    assert.deepEqual(program.run(context(frame({ dport: 53 }))), { kind: 'drop' });
    assert.equal(hooks.mirrored.length, 2, 'the mirror after drop did not run');
    assert.equal(program.counter('per_port', 1).packets, 1, 'table a ran before b');
  });

  it('identity and crc32 hashes reduce modulo the bound', () => {
    const { program, hooks } = compile({
      metadata: [
        { name: 'a', bits: 32 },
        { name: 'b', bits: 32 },
      ],
      actions: [
        {
          name: 'h',
          params: [],
          ops: [
            { op: 'hash', algorithm: 'identity', fields: ['l4.dport'], bound: 7, into: 'meta.a' },
            { op: 'hash', algorithm: 'crc32', fields: ['ipv4.ttl'], bound: 2 ** 32, into: 'meta.b' },
            { op: 'report', event: 'h', fields: ['meta.a', 'meta.b'] },
          ],
        },
      ],
      tables: [table('t', [], ['h'], 0, 'h')],
      control: [{ table: 't' }],
    });
    program.run(context(frame({ dport: 80, ttl: 0x31 })));
    assert.deepEqual(hooks.reports[0].fields, { 'meta.a': 80 % 7, 'meta.b': 0x83dcefb7 }, 'crc32("1")');
  });
});
