import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFrame, type ProgramQuota, validateProgram } from '@tenantlab/shared';
import { type CompiledProgram, compileProgram, RegisterMemory } from '../programs';
import { SwitchPipeline } from './switch-pipeline';
import type { SwitchPort, Verdict } from './switch-port';

const A1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
const A2: SwitchPort = { no: 2, vm: 'vm-a2', tenant: 'tenant-a', vlan: 10 };
const QUOTA: ProgramQuota = {
  tables: 8,
  tableEntries: 4096,
  registerBits: 1 << 22,
  counters: 1 << 16,
  actionOpsPerPacket: 64,
  headerBytes: 64,
};

/** Drops the destination ports a table entry names; counts every frame it sees, per destination port. */
const PORT_ACL = {
  name: 'port_acl',
  version: 1,
  counters: [{ name: 'seen', size: 65536, kind: 'packets' }],
  actions: [
    { name: 'allow', ops: [{ op: 'counter.count', counter: 'seen', index: { field: 'l4.dport' } }] },
    {
      name: 'deny',
      ops: [{ op: 'counter.count', counter: 'seen', index: { field: 'l4.dport' } }, { op: 'drop' }],
    },
  ],
  tables: [
    {
      name: 'acl',
      key: [{ field: 'l4.dport', match: 'exact' }],
      actions: ['allow', 'deny'],
      defaultAction: { action: 'allow' },
      size: 16,
    },
  ],
  control: [{ table: 'acl', if: { field: 'eth.type', op: '==', value: 2048 } }],
};

function compile(document: unknown): CompiledProgram {
  const valid = validateProgram(document, { tenant: 'tenant-a', vms: ['vm-a1', 'vm-a2'], quota: QUOTA });
  const registers = Object.fromEntries(
    valid.program.registers.map((r, i) => [r.name, { stage: 0, offset: i * 4096, amount: 4096 }]),
  );
  return compileProgram(valid, registers, new RegisterMemory(8, 65536), {
    mirror: () => undefined,
    report: () => undefined,
  });
}

function udp(dstPort: number): Buffer {
  return buildFrame({
    srcMac: '02:00:00:00:00:a1',
    dstMac: '02:00:00:00:00:a2',
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 1000, dstPort },
    payload: Buffer.alloc(8),
  });
}

function outcome(verdict: Verdict): string {
  return verdict.kind === 'forward' ? verdict.outPorts.map((p) => p.vm).join() : `drop:${verdict.reason}`;
}

describe('tenant programs behind the flow cache (Oko)', () => {
  it('knows which programs a flow cache may remember: header-only lookups and guards, no header writes', () => {
    assert.equal(compile(PORT_ACL).flowCacheable, true);
    const programs = join(__dirname, '..', '..', '..', '..', 'programs');
    const heavyHitter = JSON.parse(readFileSync(join(programs, 'heavy-hitter.json'), 'utf8')) as unknown;
    assert.equal(compile(heavyHitter).flowCacheable, false, 'its alert step is guarded by metadata');
  });

  it('gives the same verdicts and counts with the cache on as off, across entries added and removed', () => {
    const run = (flowCacheSize: number): { outcomes: string[]; seen: number } => {
      const program = compile(PORT_ACL);
      // Made-up MAC addresses: the check of each frame's source MAC against its port's own (own-source.spec) is off.
      const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize });
      pipeline.attach(A1);
      pipeline.attach(A2);
      pipeline.installPrograms(new Map([['tenant-a', program]]));
      const outcomes: string[] = [];
      const send = (count: number): void => {
        for (let i = 0; i < count; i++) outcomes.push(outcome(pipeline.process({ port: A1, frame: udp(6666) })));
      };
      send(3); // allowed (flooded, then learned)
      program.addEntry('acl', { key: [{ value: 6666 }], action: 'deny' });
      send(3); // the remembered "no entry" must not outlive the new entry
      program.removeEntry('acl', [{ value: 6666 }]);
      send(3);
      return { outcomes, seen: program.counter('seen', 6666).packets };
    };
    const off = run(0);
    const on = run(1024);
    assert.deepEqual(on.outcomes, off.outcomes);
    assert.deepEqual(off.outcomes.slice(3, 6), ['drop:program-drop', 'drop:program-drop', 'drop:program-drop']);
    assert.equal(off.outcomes[8], 'vm-a2');
    assert.equal(on.seen, 9, 'the counter ran for every packet, cache hits included');
    assert.equal(off.seen, 9);
  });

  it("counts each flow in the bucket of its own hash with the cache on as off (a flow's hash is kept per flow)", () => {
    const programs = join(__dirname, '..', '..', '..', '..', 'programs');
    const flowCounters = JSON.parse(readFileSync(join(programs, 'flow-counters.json'), 'utf8')) as unknown;
    const buckets = (flowCacheSize: number): number[] => {
      const program = compile(flowCounters);
      assert.equal(program.flowCacheable, true);
      const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize });
      pipeline.attach(A1);
      pipeline.attach(A2);
      pipeline.installPrograms(new Map([['tenant-a', program]]));
      // 40 flows, each three times, interleaved: every later packet of a flow is a cache hit with the cache on.
      for (let round = 0; round < 3; round++) {
        for (let flow = 0; flow < 40; flow++) pipeline.process({ port: A1, frame: udp(5000 + flow) });
      }
      return Array.from({ length: 4096 }, (_, i) => program.counter('flows', i).packets);
    };
    const off = buckets(0);
    assert.ok(off.filter((n) => n > 0).length > 20, 'the flows spread over many buckets');
    assert.deepEqual(buckets(1024), off);
  });

  it('serves repeated packets of a flow from the cache, program lookups included', () => {
    const program = compile(PORT_ACL);
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 1024 });
    pipeline.attach(A1);
    pipeline.attach(A2);
    pipeline.installPrograms(new Map([['tenant-a', program]]));
    for (let i = 0; i < 10; i++) pipeline.process({ port: A1, frame: udp(80) });
    assert.ok((pipeline.cacheStats()?.hits ?? 0) >= 8, JSON.stringify(pipeline.cacheStats()));
    assert.equal(program.counter('seen', 80).packets, 10);
  });
});
