import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrame, vmMacAddress } from '@tenantlab/shared';
import { countAndDrop } from '../programs/testing/program-fixtures';
import { macNumber, SwitchPipeline } from './switch-pipeline';
import type { SwitchPort, Verdict } from './switch-port';

const A1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
const A2: SwitchPort = { no: 2, vm: 'vm-a2', tenant: 'tenant-a', vlan: 10 };
/** The hostile VM: a tenant-mate of vm-a1 and vm-a2, writing whatever frames it likes to its own tx. */
const MALLORY: SwitchPort = { no: 3, vm: 'mallory', tenant: 'tenant-a', vlan: 10 };
const B1: SwitchPort = { no: 4, vm: 'vm-b1', tenant: 'tenant-b', vlan: 20 };

const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const mac = (port: SwitchPort): string => vmMacAddress(port.vm);

function udp(srcMac: string, dstMac: string): Buffer {
  return buildFrame({
    srcMac,
    dstMac,
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 1000, dstPort: 2000 },
    payload: Buffer.from('hello'),
  });
}

function outs(verdict: Verdict): string[] {
  return verdict.kind === 'forward' ? verdict.outPorts.map((p) => p.vm).sort() : [`drop:${verdict.reason}`];
}

/** A locally administered unicast MAC drawn from `random`: what a VM would make up to fill a MAC table. */
function madeUpMac(random: () => number): string {
  const bytes = [0x02, ...Array.from({ length: 5 }, () => Math.floor(random() * 256))];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

for (const flowCacheSize of [0, 1024]) {
  describe(`a frame's source MAC must be its port's own (issue 10; flow cache ${flowCacheSize ? 'on' : 'off'})`, () => {
    const switchWith = (...ports: SwitchPort[]): SwitchPipeline => {
      const pipeline = new SwitchPipeline({ flowCacheSize });
      for (const port of ports) pipeline.attach(port);
      return pipeline;
    };

    it("drops a frame carrying a tenant-mate's or another tenant's MAC, counted, and the VM keeps its traffic", () => {
      const sw = switchWith(A1, A2, MALLORY, B1);
      assert.deepEqual(outs(sw.process({ port: A2, frame: udp(mac(A2), BROADCAST) })), ['mallory', 'vm-a1']);
      // Without the check, the first would move vm-a2's address to Mallory's port, and vm-a1's frames with it.
      for (const victim of [A2, B1]) {
        const verdict = sw.process({ port: MALLORY, frame: udp(mac(victim), BROADCAST) });
        assert.deepEqual(outs(verdict), ['drop:spoofed-source'], `as ${victim.vm}`);
      }
      assert.equal(sw.counters.snapshot().ports['mallory']?.drops['spoofed-source'], 2);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(mac(A1), mac(A2)) })), ['vm-a2']);
      // Mallory's own frames go on.
      assert.deepEqual(outs(sw.process({ port: MALLORY, frame: udp(mac(MALLORY), mac(A1)) })), ['vm-a1']);
    });

    it('learns no made-up address: the MAC table and its generation (every cached decision) stay as they were', () => {
      const sw = switchWith(A1, A2, MALLORY);
      sw.process({ port: A1, frame: udp(mac(A1), BROADCAST) });
      const { size, generation } = { size: sw.macTable.size(), generation: sw.macTable.generation };
      let seed = 7;
      const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      for (let i = 0; i < 1000; i++) {
        const verdict = sw.process({ port: MALLORY, frame: udp(madeUpMac(random), mac(A1)) });
        assert.deepEqual(outs(verdict), ['drop:spoofed-source']);
      }
      assert.equal(sw.macTable.size(), size);
      assert.equal(sw.macTable.generation, generation);
      assert.equal(sw.counters.snapshot().ports['mallory']?.drops['spoofed-source'], 1000);
    });

    it('is never served the decision cached for a real frame of the same flow', () => {
      const sw = switchWith(A1, A2, MALLORY);
      sw.process({ port: A1, frame: udp(mac(A1), BROADCAST) });
      const real = udp(mac(MALLORY), mac(A1));
      assert.deepEqual(outs(sw.process({ port: MALLORY, frame: real })), ['vm-a1']);
      assert.deepEqual(outs(sw.process({ port: MALLORY, frame: real })), ['vm-a1']);
      const forged = udp(mac(A2), mac(A1));
      assert.deepEqual(outs(sw.process({ port: MALLORY, frame: forged })), ['drop:spoofed-source']);
    });

    it("is dropped before its tenant's program runs: a forged frame feeds no program state", () => {
      const sw = switchWith(A1, A2, MALLORY);
      const program = countAndDrop('tenant-a', ['vm-a1', 'vm-a2', 'mallory']);
      sw.installPrograms(new Map([['tenant-a', program]]));
      assert.deepEqual(outs(sw.process({ port: MALLORY, frame: udp(mac(A2), mac(A1)) })), ['drop:spoofed-source']);
      assert.equal(program.counter('frames', 0).packets, 0);
      assert.deepEqual(outs(sw.process({ port: MALLORY, frame: udp(mac(MALLORY), mac(A1)) })), ['drop:program-drop']);
      assert.equal(program.counter('frames', 0).packets, 1);
    });

    it('knows each VM from its attach: a frame to one that never sent goes to it alone, not to its tenant-mates', () => {
      const sw = switchWith(A1, A2, MALLORY, B1);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(mac(A1), mac(A2)) })), ['vm-a2']);
      assert.equal(sw.macTable.size(), 4);
      // A port number used again by another VM: the old VM's address goes with it.
      sw.detach(A2);
      const reused: SwitchPort = { ...A2, vm: 'vm-a4' };
      sw.attach(reused);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(mac(A1), mac(reused)) })), ['vm-a4']);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(mac(A1), mac(A2)) })), ['mallory', 'vm-a4']);
    });

    it('checks a frame from a port detached since against its own VM, and takes the address it is given', () => {
      const sw = switchWith(A1, A2, MALLORY);
      sw.detach(MALLORY);
      assert.deepEqual(outs(sw.process({ port: MALLORY, frame: udp(mac(A2), mac(A1)) })), ['drop:spoofed-source']);
      const given = new SwitchPipeline({ flowCacheSize, ownMacOf: (port) => macNumber(`02:00:00:00:00:0${port.no}`) });
      for (const port of [A1, A2]) given.attach(port);
      assert.deepEqual(outs(given.process({ port: A1, frame: udp('02:00:00:00:00:01', BROADCAST) })), ['vm-a2']);
      assert.deepEqual(outs(given.process({ port: A1, frame: udp(mac(A1), BROADCAST) })), ['drop:spoofed-source']);
    });
  });
}
