import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrame, type ProgramQuota, validateProgram } from '@tenantlab/shared';
import { type CompiledProgram, compileProgram, RegisterMemory } from '../programs';
import { FakePauses } from '../programs/testing/fake-pauses';
import { countingProgram } from '../testing/counting-program';
import { MacTable } from './mac-table';
import { SwitchCounters } from './switch-counters';
import { SwitchPipeline } from './switch-pipeline';
import type { SwitchPort, Verdict } from './switch-port';

/**
 * The pipeline's less travelled paths: where a program's forward may go, the data path's own drops and waits, the
 * per-frame CPU charge, ports attached twice or detached late, and the MAC table and counters behind them.
 */

const A1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
const A2: SwitchPort = { no: 2, vm: 'vm-a2', tenant: 'tenant-a', vlan: 10 };
const A3: SwitchPort = { no: 3, vm: 'vm-a3', tenant: 'tenant-a', vlan: 10 };
const B1: SwitchPort = { no: 4, vm: 'vm-b1', tenant: 'tenant-b', vlan: 20 };

const QUOTA: ProgramQuota = {
  tables: 8,
  tableEntries: 64,
  registerBits: 1 << 16,
  counters: 64,
  actionOpsPerPacket: 16,
  headerBytes: 0,
};

function udp(srcMac: string, dstMac: string, dstPort = 2000): Buffer {
  return buildFrame({
    srcMac,
    dstMac,
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 1000, dstPort },
    payload: Buffer.alloc(8),
  });
}

function outs(verdict: Verdict): string[] {
  return verdict.kind === 'forward' ? verdict.outPorts.map((p) => p.vm).sort() : [`drop:${verdict.reason}`];
}

/**
 * Tenant A's program: a frame to UDP port N is forwarded to the VM entry N names (the registry, as the validator
 * saw it, lists `vms`), any other frame goes on to the L2 table.
 */
function forwarding(vms: string[]): CompiledProgram {
  const actions = [
    { name: 'pass', params: [], ops: [] },
    ...vms.map((vm, i) => ({ name: `to_${i}`, params: [], ops: [{ op: 'forward', to: vm }] })),
  ];
  const program = compileProgram(
    validateProgram(
      {
        name: 'steer',
        version: 1,
        actions,
        tables: [
          {
            name: 'by_port',
            key: [{ field: 'l4.dport', match: 'exact' }],
            actions: actions.map((a) => a.name),
            defaultAction: { action: 'pass' },
            size: 8,
          },
        ],
        control: [{ table: 'by_port' }],
      },
      { tenant: 'tenant-a', vms, quota: QUOTA },
    ),
    {},
    new RegisterMemory(1, 1),
    { mirror: () => undefined, report: () => undefined },
  );
  vms.forEach((_, i) => program.addEntry('by_port', { key: [{ value: 3000 + i }], action: `to_${i}` }));
  return program;
}

for (const flowCacheSize of [0, 1024]) {
  describe(`a tenant program's forward (flow cache ${flowCacheSize ? 'on' : 'off'})`, () => {
    it("goes to the named VM's port only; a VM without a port, another tenant's or the sender's own is a drop", () => {
      // Made-up MAC addresses: the check of each frame's source MAC against its port's own (own-source.spec) is off.
      const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize });
      for (const port of [A1, A2, A3, B1]) pipeline.attach(port);
      // vm-b1 stands for a registry that changed under the program: the switch checks the tenant again.
      pipeline.installPrograms(new Map([['tenant-a', forwarding(['vm-a2', 'vm-a9', 'vm-b1', 'vm-a1'])]]));
      const from = (dstPort: number) =>
        pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff', dstPort) });
      const toA2 = from(3000);
      assert.deepEqual(outs(toA2), ['vm-a2']);
      assert.equal(toA2.kind === 'forward' && toA2.flooded, false, 'a program forward is not a flood');
      assert.deepEqual(outs(from(3001)), ['drop:program-forward-unknown'], 'vm-a9 has no port');
      assert.deepEqual(outs(from(3002)), ['drop:program-forward-unknown'], "vm-b1 is tenant B's");
      assert.deepEqual(outs(from(3003)), ['drop:same-port'], 'back to the sender');
      assert.deepEqual(outs(from(2000)), ['vm-a2', 'vm-a3'], 'no entry: the L2 table floods the broadcast');
      const drops = pipeline.counters.snapshot().ports['vm-a1']?.drops;
      assert.deepEqual(drops, { 'program-forward-unknown': 2, 'same-port': 1 }, 'forwarded frames count no drop');
    });

    it('keeps forwarding to a VM re-attached on a new port when its old port is detached late', () => {
      const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize });
      for (const port of [A1, A2]) pipeline.attach(port);
      pipeline.installPrograms(new Map([['tenant-a', forwarding(['vm-a2'])]]));
      const moved: SwitchPort = { ...A2, no: 9 };
      pipeline.attach(moved);
      pipeline.detach(A2); // the old port's detach arrives after the new attach
      const verdict = pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', '02:00:00:00:00:a2', 3000) });
      assert.ok(verdict.kind === 'forward', outs(verdict).join());
      assert.deepEqual(
        verdict.outPorts.map((p) => p.no),
        [9],
      );
    });
  });
}

describe('ports attached twice, and a VLAN whose last port goes', () => {
  it('attaching a port twice floods to it once', () => {
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    for (const port of [A1, A2, A2, A3]) pipeline.attach(port);
    const verdict = pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff') });
    assert.deepEqual(outs(verdict), ['vm-a2', 'vm-a3']);
  });

  it("detaching a VLAN's last port leaves nothing behind: the port can come back and its tenant's program runs", () => {
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    const program = countingProgram('tenant-a', ['vm-a1']);
    pipeline.installPrograms(new Map([['tenant-a', program]]));
    pipeline.attach(A1);
    pipeline.detach(A1);
    pipeline.attach(A1);
    pipeline.attach(A2);
    const verdict = pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff') });
    assert.deepEqual(outs(verdict), ['vm-a2']);
    assert.equal(program.counter('frames', 0).packets, 1);
  });

  it('a frame alone in its VLAN has nowhere to go', () => {
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    pipeline.attach(B1);
    const verdict = pipeline.process({ port: B1, frame: udp('02:00:00:00:00:b1', 'ff:ff:ff:ff:ff:ff') });
    assert.deepEqual(verdict, { kind: 'drop', reason: 'no-destination' });
  });

  it('never learns a multicast source address', () => {
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    for (const port of [A1, A2]) pipeline.attach(port);
    pipeline.process({ port: A1, frame: udp('03:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff') });
    assert.equal(pipeline.macTable.size(), 0);
    pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff') });
    assert.equal(pipeline.macTable.size(), 1);
  });
});

describe("the data path's waits, drops and CPU charges", () => {
  it('drop() counts the frame as received and dropped for its port and tenant', () => {
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    pipeline.attach(A1);
    pipeline.drop({ port: A1, frame: Buffer.alloc(60) }, 'cpu-budget');
    const { ports, tenants } = pipeline.counters.snapshot();
    for (const counters of [ports['vm-a1'], tenants['tenant-a']]) {
      assert.equal(counters?.rxFrames, 1);
      assert.equal(counters?.rxBytes, 60);
      assert.deepEqual(counters?.drops, { 'cpu-budget': 1 });
    }
  });

  it("mustWait holds a tenant's frames while its programs are over budget, and only that tenant's", () => {
    assert.equal(new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 }).mustWait(A1), false, 'no budget, no wait');

    // Every clock read moves 5 µs on; the rate refills next to nothing, the burst covers 1 µs.
    let now = 0;
    const clock = () => (now += 5_000);
    const pipeline = new SwitchPipeline({
      ownMacOf: false,
      flowCacheSize: 0,
      programCpu: { nsPerSecond: 1_000, burstNs: 1_000, clock },
    });
    for (const port of [A1, A2, B1]) pipeline.attach(port);
    pipeline.installPrograms(new Map([['tenant-a', countingProgram('tenant-a', ['vm-a1'])]]));
    assert.equal(pipeline.mustWait(A1), false, 'a full bucket');
    pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', '02:00:00:00:00:a2') });
    assert.equal(pipeline.mustWait(A1), true, 'the frame cost 5 µs of a 1 µs burst');
    assert.equal(pipeline.mustWait(A2), true, 'the same tenant, another port');
    assert.equal(pipeline.mustWait(B1), false, 'tenant B has no program, so no budget to wait for');
  });

  it("charges each frame what its program ran, not the process's pauses, a slow program all of its time", () => {
    /** Program time charged for three frames each measured `tickNs`, of which the thread was `offNs` off the CPU. */
    const charged = (tickNs: number, offNs = 0): number => {
      let now = 0;
      const pauses = new FakePauses();
      // The clock is read as a frame's program starts and as it ends: the time off grows by half of it with each read.
      const clock = () => {
        pauses.offCpu += offNs / 2;
        return (now += tickNs);
      };
      const pipeline = new SwitchPipeline({
        ownMacOf: false,
        flowCacheSize: 0,
        programCpu: { nsPerSecond: 1e9, burstNs: 1e12, clock, pauses },
      });
      pipeline.attach(A1);
      pipeline.installPrograms(new Map([['tenant-a', countingProgram('tenant-a', ['vm-a1'])]]));
      for (let i = 0; i < 3; i++) pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff') });
      pauses.deliverGcEntries();
      return pipeline.programCpuNs()['tenant-a'];
    };
    assert.equal(charged(2_000), 3 * 2_000, 'one clock tick per frame');
    assert.equal(charged(300_000), 3 * 300_000, 'a program slower than the cap pays its time');
    assert.equal(charged(1e9, 1e9 - 2_000), 3 * 2_000, 'a second off the CPU is not billed');
  });

  it('a tenant whose program is removed and installed again starts with a fresh bucket', () => {
    let now = 0;
    const pipeline = new SwitchPipeline({
      ownMacOf: false,
      flowCacheSize: 0,
      programCpu: { nsPerSecond: 1e9, burstNs: 1e12, clock: () => (now += 1_000) },
    });
    pipeline.attach(A1);
    pipeline.installPrograms(new Map([['tenant-a', countingProgram('tenant-a', ['vm-a1'])]]));
    pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff') });
    assert.deepEqual(pipeline.programCpuNs(), { 'tenant-a': 1_000 });
    pipeline.installPrograms(new Map());
    assert.deepEqual(pipeline.programCpuNs(), {});
    pipeline.installPrograms(new Map([['tenant-a', countingProgram('tenant-a', ['vm-a1'])]]));
    assert.deepEqual(pipeline.programCpuNs(), { 'tenant-a': 0 });
  });

  it("without a CPU budget, a tenant's program can be removed again", () => {
    const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 0 });
    pipeline.attach(A1);
    pipeline.installPrograms(new Map([['tenant-a', countingProgram('tenant-a', ['vm-a1'])]]));
    pipeline.installPrograms(new Map());
    assert.deepEqual(pipeline.programCpuNs(), {});
    assert.equal(pipeline.mustWait(A1), false);
  });

  it("a new program installed for a tenant that has one keeps the tenant's bucket: its debt and charged time", () => {
    // As in the mustWait case: every clock read moves 5 µs on, the burst covers 1 µs.
    let now = 0;
    const pipeline = new SwitchPipeline({
      ownMacOf: false,
      flowCacheSize: 0,
      programCpu: { nsPerSecond: 1_000, burstNs: 1_000, clock: () => (now += 5_000) },
    });
    pipeline.attach(A1);
    pipeline.installPrograms(new Map([['tenant-a', countingProgram('tenant-a', ['vm-a1'])]]));
    pipeline.process({ port: A1, frame: udp('02:00:00:00:00:a1', 'ff:ff:ff:ff:ff:ff') });
    assert.equal(pipeline.mustWait(A1), true, 'in debt after one frame');
    pipeline.installPrograms(new Map([['tenant-a', countingProgram('tenant-a', ['vm-a1'])]]));
    assert.equal(pipeline.mustWait(A1), true, 'still in debt: replacing the program does not refill the bucket');
    assert.deepEqual(pipeline.programCpuNs(), { 'tenant-a': 5_000 });
  });
});

describe('MacTable', () => {
  const MAC = 0x0200000000a1;

  it('finds nothing in a VLAN it never learned in', () => {
    const table = new MacTable();
    table.learn(A1, MAC);
    assert.equal(table.lookup(99, MAC), undefined);
    assert.equal(table.lookup(A1.vlan, MAC), A1);
  });

  it('moves its generation on when a location changes or a port goes, not when a known address is seen again', () => {
    const table = new MacTable();
    table.learn(A1, MAC);
    const learned = table.generation;
    table.learn(A1, MAC);
    assert.equal(table.generation, learned, 'the same address on the same port changes nothing');
    table.learn(A2, MAC);
    const moved = table.generation;
    assert.ok(moved > learned);
    table.forgetPort(A3);
    assert.ok(table.generation > moved, 'a detach invalidates cached floods');
  });

  it("forgets the detached port's addresses only, and counts what it holds over all VLANs", () => {
    const table = new MacTable();
    table.learn(A1, MAC);
    table.learn(A2, MAC + 1);
    table.learn(B1, MAC + 2);
    assert.equal(table.size(), 3);
    table.forgetPort(A2);
    assert.equal(table.size(), 2);
    assert.equal(table.lookup(A1.vlan, MAC), A1);
    assert.equal(table.lookup(A1.vlan, MAC + 1), undefined);
  });
});

describe('SwitchCounters', () => {
  it('adds up rx, tx and drops per port and per tenant; a parser reason only for malformed frames', () => {
    const counters = new SwitchCounters();
    counters.received(A1, 100);
    counters.received(A2, 50);
    counters.delivered(A2, 100);
    counters.delivered(A2, 20);
    counters.dropped(A1, 'malformed', 'too-short');
    counters.dropped(A2, 'no-destination');
    const { ports, tenants } = counters.snapshot();
    assert.deepEqual(ports['vm-a1'], {
      rxFrames: 1,
      rxBytes: 100,
      txFrames: 0,
      txBytes: 0,
      drops: { malformed: 1 },
      malformed: { 'too-short': 1 },
    });
    assert.deepEqual(ports['vm-a2'], {
      rxFrames: 1,
      rxBytes: 50,
      txFrames: 2,
      txBytes: 120,
      drops: { 'no-destination': 1 },
      malformed: {},
    });
    assert.deepEqual(tenants['tenant-a'], {
      rxFrames: 2,
      rxBytes: 150,
      txFrames: 2,
      txBytes: 120,
      drops: { malformed: 1, 'no-destination': 1 },
      malformed: { 'too-short': 1 },
    });
  });
});
