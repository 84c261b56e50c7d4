import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrame, withVlanTag } from '@tenantlab/shared';
import { SwitchPipeline } from './switch-pipeline';
import type { SwitchPort, Verdict } from './switch-port';

const A1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
const A2: SwitchPort = { no: 2, vm: 'vm-a2', tenant: 'tenant-a', vlan: 10 };
const A3: SwitchPort = { no: 3, vm: 'vm-a3', tenant: 'tenant-a', vlan: 10 };
const B1: SwitchPort = { no: 4, vm: 'vm-b1', tenant: 'tenant-b', vlan: 20 };

const MAC = { a1: '02:00:00:00:00:a1', a2: '02:00:00:00:00:a2', a3: '02:00:00:00:00:a3', b1: '02:00:00:00:00:b1' };
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function udp(src: string, dst: string, srcPort = 1000): Buffer {
  return buildFrame({
    srcMac: src,
    dstMac: dst,
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort, dstPort: 2000 },
    payload: Buffer.from('hello'),
  });
}

function outs(verdict: Verdict): string[] {
  return verdict.kind === 'forward' ? verdict.outPorts.map((p) => p.vm).sort() : [`drop:${verdict.reason}`];
}

for (const flowCacheSize of [0, 1024]) {
  describe(`SwitchPipeline (flow cache ${flowCacheSize ? 'on' : 'off'})`, () => {
    const switchWith = (...ports: SwitchPort[]): SwitchPipeline => {
      // Made-up MAC addresses: the check of each frame's source MAC against its port's own (own-source.spec) is off.
      const pipeline = new SwitchPipeline({ ownMacOf: false, flowCacheSize });
      for (const port of ports) pipeline.attach(port);
      return pipeline;
    };

    it('floods an unknown destination to the other ports of the tenant only, then forwards once learned', () => {
      const sw = switchWith(A1, A2, A3, B1);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2', 'vm-a3']);
      // a2 answers: a1 is known by now, so the reply is not flooded, and a2 gets learned.
      assert.deepEqual(outs(sw.process({ port: A2, frame: udp(MAC.a2, MAC.a1) })), ['vm-a1']);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2']);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2']);
    });

    it('never delivers a frame to another tenant, whatever its destination MAC', () => {
      const sw = switchWith(A1, A2, B1);
      sw.process({ port: B1, frame: udp(MAC.b1, BROADCAST) }); // b1's MAC is learned, in VLAN 20
      for (const dst of [MAC.b1, BROADCAST, '01:00:5e:00:00:01', MAC.a2, '02:99:99:99:99:99']) {
        const verdict = sw.process({ port: A1, frame: udp(MAC.a1, dst) });
        assert.ok(!outs(verdict).includes('vm-b1'), `${dst} from tenant-a reached tenant-b: ${outs(verdict).join()}`);
      }
      // Even with b1's own MAC as source: learning is per VLAN, so b1 keeps getting its traffic.
      sw.process({ port: A1, frame: udp(MAC.b1, MAC.a2) });
      assert.deepEqual(outs(sw.process({ port: B1, frame: udp(MAC.b1, MAC.b1) })), ['drop:same-port']);
    });

    it('drops a frame that carries its own VLAN tag: tenants cannot choose or spoof their VLAN', () => {
      const sw = switchWith(A1, A2, B1);
      const spoof = withVlanTag(udp(MAC.a1, MAC.b1), B1.vlan);
      assert.deepEqual(outs(sw.process({ port: A1, frame: spoof })), ['drop:tenant-vlan-tag']);
      assert.equal(sw.counters.snapshot().ports['vm-a1']?.drops['tenant-vlan-tag'], 1);
    });

    it('counts malformed frames with the parser reason and keeps forwarding', () => {
      const sw = switchWith(A1, A2);
      const frame = udp(MAC.a1, MAC.a2);
      frame[24] = (frame[24] ?? 0) ^ 0xff; // corrupt the IPv4 header checksum
      assert.deepEqual(outs(sw.process({ port: A1, frame })), ['drop:malformed']);
      assert.deepEqual(outs(sw.process({ port: A1, frame: Buffer.alloc(5) })), ['drop:malformed']);
      const counters = sw.counters.snapshot().tenants['tenant-a'];
      assert.deepEqual(counters?.malformed, { 'ipv4-bad-checksum': 1, 'too-short': 1 });
      assert.equal(counters?.rxFrames, 2);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2']);
    });

    it('follows a MAC that moves to another port, and forgets a detached port', () => {
      const sw = switchWith(A1, A2, A3);
      sw.process({ port: A2, frame: udp(MAC.a2, BROADCAST) });
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2']);
      sw.process({ port: A3, frame: udp(MAC.a2, BROADCAST) }); // a2's MAC now behind port 3
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a3']);
      sw.detach(A3);
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2']);
    });

    it('serves a VM re-attached with another MAC correctly, never from a stale cached decision', () => {
      const sw = switchWith(A1, A2);
      sw.process({ port: A2, frame: udp(MAC.a2, BROADCAST) });
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2']);
      sw.detach(A2);
      const reborn: SwitchPort = { ...A2, no: 9 };
      sw.attach(reborn);
      sw.process({ port: reborn, frame: udp('02:00:00:00:0a:22', BROADCAST) });
      // The old MAC is unknown now: flooded within the tenant, to the new port, not to the detached one.
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) })), ['vm-a2']);
      const verdict = sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2) });
      assert.ok(verdict.kind === 'forward' && verdict.outPorts.every((p) => p.no === 9), 'only the new port');
      assert.deepEqual(outs(sw.process({ port: A1, frame: udp(MAC.a1, '02:00:00:00:0a:22') })), ['vm-a2']);
    });
  });
}

describe('SwitchPipeline flow cache', () => {
  it('hits for a repeated flow, misses for a new one, and evicts beyond its size', () => {
    const sw = new SwitchPipeline({ ownMacOf: false, flowCacheSize: 4 }); // one set of four ways
    sw.attach(A1);
    sw.attach(A2);
    sw.process({ port: A2, frame: udp(MAC.a2, BROADCAST) });
    for (let i = 0; i < 3; i++) sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2, 1000) });
    let stats = sw.cacheStats();
    assert.equal(stats?.hits, 2);
    for (const srcPort of [1001, 1002, 1003, 1004]) sw.process({ port: A1, frame: udp(MAC.a1, MAC.a2, srcPort) });
    stats = sw.cacheStats();
    assert.equal(stats?.flows, 4);
    assert.ok((stats?.evictions ?? 0) >= 1);
  });
});
