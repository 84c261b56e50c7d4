import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { buildFrame, parseIpv4, vmIpv4Address, vmMacAddress } from '@tenantlab/shared';
import { LatencyHistogram } from './latency-histogram';
import { REORDER_WINDOW } from './sequence-tracker';
import { TLAB_HEADER_BYTES, writeTlabHeader } from './tlab-header';
import { MAX_TRACKED_FLOWS, TrafficReceiver } from './traffic-receiver';

const NOW = 5_000_000;

/** A TLAB frame from `vm` to vm-rx (or `dstMac`) on `flow`, sent `latencyUs` before NOW. */
function tlabFrame(
  vm: string,
  flow: number,
  seq: number,
  latencyUs = 10,
  protocol: 'udp' | 'tcp' = 'udp',
  dstMac = vmMacAddress('vm-rx'),
): Buffer {
  const payload = Buffer.alloc(TLAB_HEADER_BYTES + 8);
  writeTlabHeader(payload, 0, { source: parseIpv4(vmIpv4Address(vm)), flow, seq, sentUs: NOW - latencyUs });
  const ports = { srcPort: 10_000 + flow, dstPort: 9 };
  return buildFrame({
    dstMac,
    srcMac: vmMacAddress(vm),
    ipv4: { src: vmIpv4Address(vm), dst: vmIpv4Address('vm-rx') },
    ...(protocol === 'udp' ? { udp: ports } : { tcp: ports }),
    payload,
  });
}

describe('TrafficReceiver', () => {
  let receiver: TrafficReceiver;
  const a = vmIpv4Address('vm-a');

  beforeEach(() => {
    receiver = new TrafficReceiver(vmMacAddress('vm-rx'));
  });

  function receiveSeqs(seqs: number[], vm = 'vm-a', flow = 0): void {
    for (const seq of seqs) receiver.receive(tlabFrame(vm, flow, seq), NOW);
  }

  function countsOf(vm = 'vm-a', flow = 0): Record<string, number> {
    const source = receiver.report().bySource[vmIpv4Address(vm)];
    assert.ok(source, `a report for ${vm}`);
    return { ...source.perFlow[String(flow)] };
  }

  it('counts frames that arrive in order as received, and nothing else', () => {
    receiveSeqs([0, 1, 2, 3, 4]);
    assert.deepEqual(countsOf(), { received: 5, outOfOrder: 0, duplicates: 0, gaps: 0 });
    const report = receiver.report();
    assert.equal(report.total, 5);
    assert.deepEqual(report.rejected, {});
    assert.deepEqual(
      { ...report.bySource[a], perFlow: undefined },
      {
        received: 5,
        outOfOrder: 0,
        duplicates: 0,
        gaps: 0,
        flows: 1,
        perFlow: undefined,
      },
    );
  });

  it('counts a sequence number seen before as a duplicate', () => {
    receiveSeqs([0, 1, 2, 2, 1, 3]);
    assert.deepEqual(countsOf(), { received: 6, outOfOrder: 0, duplicates: 2, gaps: 0 });
  });

  it('counts skipped sequence numbers as gaps', () => {
    receiveSeqs([0, 1, 4, 5, 9]);
    assert.deepEqual(countsOf(), { received: 5, outOfOrder: 0, duplicates: 0, gaps: 5 });
  });

  it('counts a late frame as out of order, filling its gap; the same frame again is a duplicate', () => {
    receiveSeqs([0, 2, 3, 1, 1]);
    assert.deepEqual(countsOf(), { received: 5, outOfOrder: 1, duplicates: 1, gaps: 0 });
    receiveSeqs([7, 5]);
    assert.deepEqual(countsOf(), { received: 7, outOfOrder: 2, duplicates: 1, gaps: 2 });
  });

  it('takes the first sequence number seen as the start, so a late frame from before it is no negative gap', () => {
    receiveSeqs([100, 99, 101]);
    assert.deepEqual(countsOf(), { received: 3, outOfOrder: 1, duplicates: 0, gaps: 0 });
  });

  it('cannot tell a frame from further back than its window from a duplicate, and counts it as one', () => {
    receiveSeqs([0, REORDER_WINDOW + 5, 3]);
    assert.deepEqual(countsOf(), { received: 3, outOfOrder: 0, duplicates: 1, gaps: REORDER_WINDOW + 4 });
  });

  it('keeps sources and flows apart, UDP and TCP alike', () => {
    receiveSeqs([0, 1, 2], 'vm-a', 0);
    receiveSeqs([0, 2], 'vm-a', 7);
    receiver.receive(tlabFrame('vm-b', 0, 0, 10, 'tcp'), NOW);
    receiver.receive(tlabFrame('vm-b', 0, 1, 10, 'tcp'), NOW);
    const { bySource } = receiver.report();
    assert.deepEqual(Object.keys(bySource).sort(), [a, vmIpv4Address('vm-b')].sort());
    assert.equal(bySource[a].flows, 2);
    assert.equal(bySource[a].received, 5);
    assert.equal(bySource[a].gaps, 1);
    assert.deepEqual(Object.keys(bySource[a].perFlow), ['0', '7'], 'the busiest flow first');
    assert.deepEqual(countsOf('vm-b'), { received: 2, outOfOrder: 0, duplicates: 0, gaps: 0 });
  });

  it("takes broadcast and multicast frames, but not unicast ones to another VM's MAC (flooded by the switch)", () => {
    receiver.receive(tlabFrame('vm-a', 0, 0, 10, 'udp', vmMacAddress('vm-other')), NOW);
    receiver.receive(tlabFrame('vm-a', 0, 1, 10, 'udp', 'ff:ff:ff:ff:ff:ff'), NOW);
    receiver.receive(tlabFrame('vm-a', 0, 2, 10, 'udp', '01:00:5e:00:00:01'), NOW);
    const report = receiver.report();
    assert.deepEqual(report.rejected, { 'not-for-this-vm': 1 });
    assert.deepEqual(countsOf(), { received: 2, outOfOrder: 0, duplicates: 0, gaps: 0 });
  });

  it('counts frames it cannot use by reason: unparseable, not UDP/TCP, not TLAB', () => {
    receiver.receive(Buffer.alloc(10), NOW);
    const arp = buildFrame({
      dstMac: 'ff:ff:ff:ff:ff:ff',
      srcMac: vmMacAddress('vm-a'),
      etherType: 0x0806,
      payload: Buffer.alloc(28),
    });
    receiver.receive(arp, NOW);
    const plainUdp = buildFrame({
      dstMac: vmMacAddress('vm-rx'),
      srcMac: vmMacAddress('vm-a'),
      ipv4: { src: vmIpv4Address('vm-a'), dst: vmIpv4Address('vm-rx') },
      udp: { srcPort: 1, dstPort: 2 },
      payload: Buffer.from('not a TLAB header, but long enough'),
    });
    receiver.receive(plainUdp, NOW);
    receiver.receive(plainUdp.subarray(0, plainUdp.length - 30), NOW);
    const report = receiver.report();
    assert.equal(report.total, 4);
    assert.deepEqual(report.bySource, {});
    assert.deepEqual(report.rejected, {
      'too-short': 1,
      'not-udp-or-tcp': 1,
      'not-tlab': 1,
      'ipv4-bad-total-length': 1,
    });
  });

  it('tracks at most MAX_TRACKED_FLOWS flows and counts frames of any further one as too-many-flows', () => {
    // Spread over four sources (a flow's source port is 10000 + its id): the bound is on all flows this VM tracks.
    const perSource = MAX_TRACKED_FLOWS / 4;
    for (let i = 0; i < MAX_TRACKED_FLOWS; i++) {
      receiver.receive(tlabFrame(`vm-s${Math.floor(i / perSource)}`, i % perSource, 1), NOW);
    }
    assert.deepEqual(receiver.report().rejected, {});
    receiver.receive(tlabFrame('vm-s0', perSource, 1), NOW);
    receiver.receive(tlabFrame('vm-c', 0, 1), NOW);
    receiver.receive(tlabFrame('vm-s3', 1, 2), NOW); // a tracked flow still counts
    const report = receiver.report();
    assert.deepEqual(report.rejected, { 'too-many-flows': 2 });
    assert.equal(report.total, MAX_TRACKED_FLOWS + 3);
    assert.equal(countsOf('vm-s3', 1)['received'], 2);
    receiver.reset();
    receiver.receive(tlabFrame('vm-c', 0, 1), NOW);
    assert.deepEqual(receiver.report().rejected, {}, 'DELETE /traffic/received starts the count again');
  });

  it('reports one-way latency percentiles from the send times in the frames', () => {
    for (let i = 1; i <= 100; i++) receiver.receive(tlabFrame('vm-a', 0, i, i), NOW);
    assert.deepEqual(receiver.report().latencyUs, { samples: 100, p50: 50, p99: 99 });
  });

  it('forgets everything on reset', () => {
    receiveSeqs([0, 5]);
    receiver.receive(Buffer.alloc(3), NOW);
    receiver.reset();
    assert.deepEqual(receiver.report(), {
      total: 0,
      bySource: {},
      latencyUs: { samples: 0, p50: null, p99: null },
      rejected: {},
    });
    receiveSeqs([9]);
    assert.deepEqual(countsOf(), { received: 1, outOfOrder: 0, duplicates: 0, gaps: 0 });
  });
});

describe('LatencyHistogram', () => {
  it('is exact below 1 ms and within 1.6% above, up to the largest uint32', () => {
    for (const value of [0, 1, 999, 1023, 1024, 5000, 123_456, 0xffffffff]) {
      const histogram = new LatencyHistogram();
      histogram.record(value);
      const reported = histogram.quantile(0.5) ?? -1;
      assert.ok(reported <= value && value - reported <= Math.max(0, value * 0.016), `${value} reported ${reported}`);
      if (value < 1024) assert.equal(reported, value);
    }
  });
});
