import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrame } from '@tenantlab/shared';
import { StormControl } from './storm-control';
import { SwitchPipeline } from './switch-pipeline';
import type { SwitchPort, Verdict } from './switch-port';

describe('StormControl (a token bucket of flood copies per tenant)', () => {
  const withClock = (copiesPerSecond: number, burstCopies: number) => {
    const clock = { ms: 1000 };
    return { clock, storm: new StormControl({ copiesPerSecond, burstCopies, clock: () => clock.ms }) };
  };
  /** How many floods of `copies` the tenant gets admitted in a row, up to `max`. */
  const admittedInARow = (storm: StormControl, tenant: string, copies: number, max = 1000): number => {
    let admitted = 0;
    while (admitted < max && storm.admit(tenant, copies)) admitted++;
    return admitted;
  };

  it('admits floods while the bucket holds copies, starting full, then refuses them', () => {
    const { storm } = withClock(100, 30);
    assert.equal(admittedInARow(storm, 'tenant-a', 3), 10, '30 copies: ten floods of 3');
    assert.equal(storm.admit('tenant-a', 3), false);
  });

  it('refills at the rate, up to the burst and no further', () => {
    const { clock, storm } = withClock(100, 30);
    admittedInARow(storm, 'tenant-a', 3);
    clock.ms += 60; // 6 copies earned
    assert.equal(admittedInARow(storm, 'tenant-a', 3), 2);
    clock.ms += 60_000; // a minute idle banks the burst only
    assert.equal(admittedInARow(storm, 'tenant-a', 3), 10);
  });

  it('lets a fan-out wider than the burst through at its rate, in debt, rather than never', () => {
    const { clock, storm } = withClock(100, 10);
    assert.equal(storm.admit('tenant-a', 50), true, 'a full bucket admits it, and owes 40 copies');
    clock.ms += 300; // 30 earned: still 10 in debt
    assert.equal(storm.admit('tenant-a', 50), false);
    clock.ms += 110; // 11 more: 1 copy
    assert.equal(storm.admit('tenant-a', 50), true);
  });

  it("keeps each tenant's bucket apart", () => {
    const { storm } = withClock(100, 30);
    admittedInARow(storm, 'tenant-a', 3);
    assert.equal(admittedInARow(storm, 'tenant-b', 3), 10, "tenant-a's storm spent none of tenant-b's copies");
  });

  it('refuses a rate or burst that is not positive', () => {
    assert.throws(() => new StormControl({ copiesPerSecond: 0, burstCopies: 10 }), RangeError);
    assert.throws(() => new StormControl({ copiesPerSecond: 10, burstCopies: 0 }), RangeError);
  });
});

const A1: SwitchPort = { no: 1, vm: 'vm-a1', tenant: 'tenant-a', vlan: 10 };
const A2: SwitchPort = { no: 2, vm: 'vm-a2', tenant: 'tenant-a', vlan: 10 };
const A3: SwitchPort = { no: 3, vm: 'vm-a3', tenant: 'tenant-a', vlan: 10 };
const B1: SwitchPort = { no: 4, vm: 'vm-b1', tenant: 'tenant-b', vlan: 20 };
const B2: SwitchPort = { no: 5, vm: 'vm-b2', tenant: 'tenant-b', vlan: 20 };
const B3: SwitchPort = { no: 6, vm: 'vm-b3', tenant: 'tenant-b', vlan: 20 };
const C1: SwitchPort = { no: 7, vm: 'vm-c1', tenant: 'tenant-c', vlan: 30 };
const C2: SwitchPort = { no: 8, vm: 'vm-c2', tenant: 'tenant-c', vlan: 30 };

const MAC: Record<string, string> = {
  'vm-a1': '02:00:00:00:00:a1',
  'vm-a2': '02:00:00:00:00:a2',
  'vm-b1': '02:00:00:00:00:b1',
  'vm-c1': '02:00:00:00:00:c1',
};
const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const UNKNOWN_UNICAST = '02:00:00:00:00:ee';

function udp(from: SwitchPort, dst: string): Buffer {
  return buildFrame({
    srcMac: MAC[from.vm] ?? '02:00:00:00:00:01',
    dstMac: dst,
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 1000, dstPort: 2000 },
    payload: Buffer.from('storm'),
  });
}

function outs(verdict: Verdict): string[] {
  return verdict.kind === 'forward' ? verdict.outPorts.map((p) => p.vm).sort() : [`drop:${verdict.reason}`];
}

for (const flowCacheSize of [0, 1024]) {
  describe(`storm control in the pipeline (flow cache ${flowCacheSize ? 'on' : 'off'})`, () => {
    /** Each tenant may make 10 flood copies at once and 100 per second; the clock stands still unless moved. */
    const switchWith = (...ports: SwitchPort[]) => {
      const clock = { ms: 0 };
      // Made-up MAC addresses: the check of each frame's source MAC against its port's own (own-source.spec) is off.
      const sw = new SwitchPipeline({
        ownMacOf: false,
        flowCacheSize,
        floods: { copiesPerSecond: 100, burstCopies: 10, clock: () => clock.ms },
      });
      for (const port of ports) sw.attach(port);
      return { sw, clock };
    };
    const send = (sw: SwitchPipeline, from: SwitchPort, dst: string, times: number): string[][] =>
      Array.from({ length: times }, () => outs(sw.process({ port: from, frame: udp(from, dst) })));

    it('drops a flood over its tenant budget as storm-control, before any copy, and counts it', () => {
      const { sw } = switchWith(A1, A2, A3);
      // Two copies per broadcast: ten copies make five floods, then the budget is spent.
      const verdicts = send(sw, A1, BROADCAST, 8);
      assert.deepEqual(verdicts.slice(0, 5), Array(5).fill(['vm-a2', 'vm-a3']));
      assert.deepEqual(verdicts.slice(5), Array(3).fill(['drop:storm-control']));
      // Unknown unicast floods too, and is charged the same way.
      assert.deepEqual(send(sw, A1, UNKNOWN_UNICAST, 1), [['drop:storm-control']]);
      const { ports, tenants } = sw.counters.snapshot();
      assert.deepEqual(ports['vm-a1']?.drops, { 'storm-control': 4 });
      assert.deepEqual(tenants['tenant-a']?.drops, { 'storm-control': 4 });
      assert.equal(tenants['tenant-a']?.rxFrames, 9);
    });

    it('admits floods again as the bucket refills', () => {
      const { sw, clock } = switchWith(A1, A2, A3);
      send(sw, A1, BROADCAST, 6);
      clock.ms += 40; // 4 copies: two floods
      assert.deepEqual(send(sw, A1, BROADCAST, 3), [['vm-a2', 'vm-a3'], ['vm-a2', 'vm-a3'], ['drop:storm-control']]);
    });

    it('never charges unicast, before or after the flood budget is spent', () => {
      const { sw } = switchWith(A1, A2, A3);
      send(sw, A2, BROADCAST, 1); // a2 is learned (two copies spent)
      assert.deepEqual(send(sw, A1, MAC['vm-a2'], 100), Array(100).fill(['vm-a2']));
      assert.deepEqual(
        send(sw, A1, BROADCAST, 5),
        [...Array.from({ length: 4 }, () => ['vm-a2', 'vm-a3']), ['drop:storm-control']],
        'eight copies left: the unicast frames took none',
      );
      assert.deepEqual(send(sw, A1, MAC['vm-a2'], 100), Array(100).fill(['vm-a2']));
    });

    it("leaves another tenant's floods alone while one tenant storms", () => {
      const { sw } = switchWith(A1, A2, A3, B1, B2, B3);
      send(sw, A1, BROADCAST, 50);
      assert.deepEqual(send(sw, B1, BROADCAST, 5), Array(5).fill(['vm-b2', 'vm-b3']));
      assert.equal(sw.counters.snapshot().tenants['tenant-b']?.drops['storm-control'], undefined);
    });

    it('does not count a flood to one port (it costs what a unicast frame does)', () => {
      const { sw } = switchWith(C1, C2);
      assert.deepEqual(send(sw, C1, BROADCAST, 50), Array(50).fill(['vm-c2']));
    });

    it('limits nothing without a budget', () => {
      const sw = new SwitchPipeline({ ownMacOf: false, flowCacheSize });
      for (const port of [A1, A2, A3]) sw.attach(port);
      assert.deepEqual(send(sw, A1, BROADCAST, 50), Array(50).fill(['vm-a2', 'vm-a3']));
    });
  });
}
