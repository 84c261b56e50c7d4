import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FRAME_BYTES } from '../port';
import { ipv4ToString, macToString, parseIpv4, parseMac } from './addresses';
import { buildFrame, type FrameSpec } from './build-frame';
import { ipv4HeaderChecksum, verifyL4Checksum } from './checksum';
import { FRAME_REJECT_REASONS, type FrameRejectReason } from './frame-reject-reasons';
import { FrameView } from './frame-view';
import { ETHER_TYPES, IP_PROTOCOLS, TCP_FLAGS } from './packet.constants';
import { parseFrame } from './parse-frame';
import { mulberry32, randomFrameSpec } from './random-frame';
import { withVlanTag } from './vlan-tag';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const IP = { src: '10.0.0.1', dst: '10.0.0.2' };

/** Asserts that `view` (from parsing `frame`) says everything `spec` says, and that its offsets find the payload. */
function assertMatchesSpec(frame: Buffer, view: FrameView, spec: FrameSpec): void {
  const payload = spec.payload ?? Buffer.alloc(0);
  const tagged = spec.vlanId !== undefined;
  const l3 = tagged ? 18 : 14;
  assert.equal(view.length, frame.length);
  assert.equal(macToString(view.dstMacHi, view.dstMacLo), spec.dstMac.toLowerCase());
  assert.equal(macToString(view.srcMacHi, view.srcMacLo), spec.srcMac.toLowerCase());
  assert.equal(view.vlanId, tagged ? spec.vlanId : -1);
  assert.equal(view.vlanPcp, spec.vlanPcp ?? 0);
  assert.equal(view.etherType, spec.etherType ?? ETHER_TYPES.ipv4);
  assert.equal(view.l3Offset, l3);
  assert.equal(view.ipv4, spec.ipv4 !== undefined);
  let payloadOffset = l3;
  if (spec.ipv4) {
    const l4 = l3 + 20;
    const l4Header = spec.udp ? 8 : spec.tcp ? 20 : 0;
    const protocol = spec.udp ? IP_PROTOCOLS.udp : spec.tcp ? IP_PROTOCOLS.tcp : spec.ipv4.protocol;
    assert.equal(ipv4ToString(view.ipSrc), spec.ipv4.src);
    assert.equal(ipv4ToString(view.ipDst), spec.ipv4.dst);
    assert.equal(view.ipHeaderLength, 20);
    assert.equal(view.ipTotalLength, 20 + l4Header + payload.length);
    assert.equal(view.ttl, spec.ipv4.ttl ?? 64);
    assert.equal(view.ipProtocol, protocol ?? IP_PROTOCOLS.experimental);
    assert.equal(view.ipDscp, spec.ipv4.dscp ?? 0);
    assert.equal(frame.readUInt16BE(l3 + 4), spec.ipv4.id ?? 0);
    assert.equal(view.ipFragmentOffset, 0);
    assert.equal(view.ipMoreFragments, false);
    assert.equal(view.l4Offset, l4);
    const ports = spec.udp ?? spec.tcp;
    assert.equal(view.srcPort, ports?.srcPort ?? 0);
    assert.equal(view.dstPort, ports?.dstPort ?? 0);
    assert.equal(view.tcpFlags, spec.tcp ? (spec.tcp.flags ?? TCP_FLAGS.ack) : 0);
    if (spec.tcp) {
      assert.equal(frame.readUInt32BE(l4 + 4), spec.tcp.seq ?? 0);
      assert.equal(frame.readUInt32BE(l4 + 8), spec.tcp.ack ?? 0);
      assert.equal(frame.readUInt16BE(l4 + 14), spec.tcp.window ?? 0xffff);
    }
    assert.equal(verifyL4Checksum(frame, view), ports !== undefined);
    payloadOffset = l4 + l4Header;
  } else {
    assert.equal(view.l4Offset, -1);
    assert.equal(view.srcPort, 0);
    assert.equal(view.dstPort, 0);
  }
  assert.equal(view.payloadOffset, payloadOffset);
  assert.equal(view.payloadLength, payload.length);
  assert.ok(frame.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength).equals(payload));
}

function parseClean(frame: Buffer, view = new FrameView()): FrameView {
  assert.equal(parseFrame(frame, view), undefined);
  return view;
}

/** A copy of `frame` changed by `edit`, with its IPv4 header checksum made right again (header at `l3`). */
function edited(frame: Buffer, edit: (copy: Buffer) => void, l3 = 14): Buffer {
  const copy = Buffer.from(frame);
  edit(copy);
  const headerLength = (copy[l3] & 0x0f) * 4;
  if (headerLength >= 20 && l3 + headerLength <= copy.length) {
    copy.writeUInt16BE(0, l3 + 10);
    copy.writeUInt16BE(ipv4HeaderChecksum(copy, l3, headerLength), l3 + 10);
  }
  return copy;
}

/** A copy of `frame` with one bit of the byte at `offset` flipped, checksums left as they were. */
function flipped(frame: Buffer, offset: number): Buffer {
  const copy = Buffer.from(frame);
  copy[offset] ^= 0x01;
  return copy;
}

function udpFrame(payloadBytes: number): Buffer {
  return buildFrame({
    dstMac: B,
    srcMac: A,
    ipv4: IP,
    udp: { srcPort: 5000, dstPort: 53 },
    payload: Buffer.alloc(payloadBytes, 0xab),
  });
}

function tcpFrame(payloadBytes: number): Buffer {
  return buildFrame({
    dstMac: B,
    srcMac: A,
    ipv4: IP,
    tcp: { srcPort: 40000, dstPort: 80 },
    payload: Buffer.alloc(payloadBytes, 0xcd),
  });
}

/** IPv4 whose protocol field says `protocol` but whose payload is just `payloadBytes` bytes. */
function ipv4Claiming(protocol: number, payloadBytes: number): Buffer {
  const frame = buildFrame({ dstMac: B, srcMac: A, ipv4: IP, payload: Buffer.alloc(payloadBytes) });
  return edited(frame, (f) => (f[14 + 9] = protocol));
}

describe('parseFrame round trips', () => {
  const specs: Record<string, FrameSpec> = {
    'UDP, untagged': { dstMac: B, srcMac: A, ipv4: IP, udp: { srcPort: 5000, dstPort: 53 }, payload: Buffer.from('q') },
    'TCP, tagged with priority, every field set': {
      dstMac: 'AA:BB:CC:DD:EE:FF',
      srcMac: A,
      vlanId: 4094,
      vlanPcp: 7,
      ipv4: { src: '192.168.1.10', dst: '255.255.255.255', ttl: 1, id: 65535, dscp: 46 },
      tcp: { srcPort: 65535, dstPort: 1, seq: 0xffffffff, ack: 1, flags: TCP_FLAGS.syn | TCP_FLAGS.ack, window: 0 },
      payload: Buffer.from('hello, tenant'),
    },
    'TCP with no payload': { dstMac: B, srcMac: A, ipv4: IP, tcp: { srcPort: 1, dstPort: 2 } },
    'IPv4 ICMP': { dstMac: B, srcMac: A, ipv4: { ...IP, protocol: IP_PROTOCOLS.icmp }, payload: Buffer.alloc(8) },
    'ARP, tagged': {
      dstMac: 'ff:ff:ff:ff:ff:ff',
      srcMac: A,
      vlanId: 1,
      etherType: ETHER_TYPES.arp,
      payload: Buffer.alloc(28),
    },
    'IPv6 (not parsed past L2)': { dstMac: B, srcMac: A, etherType: ETHER_TYPES.ipv6, payload: Buffer.alloc(40, 1) },
    'a bare Ethernet header': { dstMac: B, srcMac: A, etherType: 0x88b5 },
  };
  for (const [name, spec] of Object.entries(specs)) {
    it(name, () => {
      const frame = buildFrame(spec);
      assertMatchesSpec(frame, parseClean(frame), spec);
    });
  }

  it('2000 random specs from fixed seeds parse clean and match', () => {
    const view = new FrameView();
    let count = 0;
    for (const seed of [1, 2, 3, 4]) {
      const random = mulberry32(seed);
      for (let i = 0; i < 500; i += 1) {
        const spec = randomFrameSpec(random);
        const frame = buildFrame(spec);
        const reason = parseFrame(frame, view);
        assert.equal(reason, undefined, `seed ${seed} #${i}: ${reason}`);
        assertMatchesSpec(frame, view, spec);
        count += 1;
      }
    }
    assert.equal(count, 2000);
  });

  it('accepts a frame of exactly MAX_FRAME_BYTES', () => {
    const frame = udpFrame(MAX_FRAME_BYTES - 14 - 28);
    assert.equal(frame.length, MAX_FRAME_BYTES);
    assert.equal(parseClean(frame).payloadLength, MAX_FRAME_BYTES - 42);
  });

  it('ignores Ethernet padding after the IPv4 total length', () => {
    const frame = Buffer.concat([udpFrame(4), Buffer.alloc(60 - 46)]);
    assert.equal(frame.length, 60);
    const view = parseClean(frame);
    assert.equal(view.ipTotalLength, 32);
    assert.equal(view.payloadLength, 4);
    assert.equal(verifyL4Checksum(frame, view), true);
  });

  it('counts trailing bytes as payload for non-IPv4 frames, which carry no length', () => {
    const frame = buildFrame({ dstMac: B, srcMac: A, etherType: ETHER_TYPES.arp, payload: Buffer.alloc(46) });
    assert.equal(parseClean(frame).payloadLength, 46);
  });

  it('skips IPv4 and TCP options to find the payload', () => {
    const plain = udpFrame(0);
    const ipOptions = edited(
      Buffer.concat([plain.subarray(0, 34), Buffer.from([1, 1, 1, 0]), plain.subarray(34)]),
      (f) => {
        f[14] = 0x46;
        f.writeUInt16BE(32, 16);
      },
    );
    const view = parseClean(ipOptions);
    assert.equal(view.ipHeaderLength, 24);
    assert.equal(view.l4Offset, 38);
    assert.equal(view.srcPort, 5000);
    assert.equal(view.payloadOffset, 46);
    assert.equal(view.payloadLength, 0);

    const tcpOptions = edited(tcpFrame(8), (f) => (f[34 + 12] = 7 << 4));
    const tcp = parseClean(tcpOptions);
    assert.equal(tcp.payloadOffset, 34 + 28);
    assert.equal(tcp.payloadLength, 0);
  });

  it('takes the payload length from the UDP length when it is shorter than the IP payload', () => {
    const frame = edited(udpFrame(10), (f) => f.writeUInt16BE(12, 38));
    assert.equal(parseClean(frame).payloadLength, 4);
  });

  it('reads the broadcast and multicast bits of the destination', () => {
    const view = new FrameView();
    const frame = (dstMac: string): Buffer => buildFrame({ dstMac, srcMac: A, etherType: ETHER_TYPES.arp });
    parseClean(frame('ff:ff:ff:ff:ff:ff'), view);
    assert.deepEqual([view.isBroadcast(), view.isMulticast()], [true, true]);
    parseClean(frame('01:00:5e:00:00:fb'), view);
    assert.deepEqual([view.isBroadcast(), view.isMulticast()], [false, true]);
    parseClean(frame('fe:ff:ff:ff:ff:ff'), view);
    assert.deepEqual([view.isBroadcast(), view.isMulticast()], [false, false]);
    assert.deepEqual([view.dstMacHi, view.dstMacLo], [parseMac('fe:ff:ff:ff:ff:ff').hi, 0xffffffff]);
  });

  it('exposes the addresses as unsigned numbers', () => {
    const frame = buildFrame({ dstMac: B, srcMac: A, ipv4: { src: '255.0.0.1', dst: '128.0.0.0' } });
    const view = parseClean(frame);
    assert.equal(view.ipSrc, parseIpv4('255.0.0.1'));
    assert.equal(view.ipSrc, 0xff000001);
    assert.equal(view.ipDst, 0x80000000);
  });
});

describe('parseFrame with IPv4 fragments', () => {
  it('forwards a non-first fragment without parsing L4', () => {
    // Offset 185 * 8 = 1480: the bytes after the IPv4 header are the middle of a datagram, not a UDP header.
    const frame = edited(udpFrame(100), (f) => f.writeUInt16BE(185, 14 + 6));
    const view = parseClean(frame);
    assert.equal(view.ipFragmentOffset, 1480);
    assert.equal(view.ipMoreFragments, false);
    assert.equal(view.srcPort, 0);
    assert.equal(view.dstPort, 0);
    assert.equal(view.l4Offset, 34);
    assert.equal(view.payloadOffset, 34);
    assert.equal(view.payloadLength, 108);
    assert.equal(verifyL4Checksum(frame, view), false);
  });

  it('forwards a non-first fragment too short for any L4 header', () => {
    const frame = edited(ipv4Claiming(IP_PROTOCOLS.tcp, 3), (f) => f.writeUInt16BE(0x2000 | 1, 14 + 6));
    assert.equal(parseClean(frame).payloadLength, 3);
  });

  it('reads the ports of a first fragment whose UDP length covers the whole datagram', () => {
    const frame = edited(udpFrame(100), (f) => {
      f.writeUInt16BE(0x2000, 14 + 6);
      f.writeUInt16BE(3000, 34 + 4);
    });
    const view = parseClean(frame);
    assert.equal(view.ipMoreFragments, true);
    assert.equal(view.srcPort, 5000);
    assert.equal(view.dstPort, 53);
    assert.equal(view.payloadLength, 100);
    assert.equal(verifyL4Checksum(frame, view), false);
  });

  it('rejects a first fragment too short for its TCP header (tiny fragment, RFC 1858)', () => {
    const frame = edited(ipv4Claiming(IP_PROTOCOLS.tcp, 8), (f) => f.writeUInt16BE(0x2000, 14 + 6));
    assert.equal(parseFrame(frame, new FrameView()), 'truncated-l4');
  });
});

describe('parseFrame rejects malformed frames', () => {
  const udp = udpFrame(0);
  const tagged = withVlanTag(udp, 100);
  const corpus: [string, Buffer, FrameRejectReason][] = [
    ['0 bytes', Buffer.alloc(0), 'too-short'],
    ['13 bytes', Buffer.from(udp.subarray(0, 13)), 'too-short'],
    ['802.1Q tag cut off', Buffer.from(tagged.subarray(0, 16)), 'too-short'],
    ['IPv4 header cut off', Buffer.from(udp.subarray(0, 14 + 19)), 'too-short'],
    ['IPv4 header cut off after a tag', Buffer.from(tagged.subarray(0, 18 + 19)), 'too-short'],
    ['oversized (MAX_FRAME_BYTES + 1)', Buffer.concat([udpFrame(MAX_FRAME_BYTES - 42), Buffer.alloc(1)]), 'oversized'],
    ['QinQ: 0x88a8 outer tag', edited(tagged, (f) => f.writeUInt16BE(ETHER_TYPES.qinq, 12), 18), 'vlan-stacked'],
    ['QinQ: legacy 0x9100 outer tag', edited(tagged, (f) => f.writeUInt16BE(0x9100, 12), 18), 'vlan-stacked'],
    ['QinQ: 0x8100 inside 0x8100', withVlanTag(tagged, 200), 'vlan-stacked'],
    ['QinQ: 0x88a8 inside 0x8100', edited(tagged, (f) => f.writeUInt16BE(ETHER_TYPES.qinq, 16), 18), 'vlan-stacked'],
    ['IP version 6 under EtherType IPv4', edited(udp, (f) => (f[14] = 0x65)), 'ipv4-bad-version'],
    ['IP version 0', edited(udp, (f) => (f[14] = 0x05)), 'ipv4-bad-version'],
    ['IHL 4', edited(udp, (f) => (f[14] = 0x44)), 'ipv4-bad-header-length'],
    ['IHL 0', edited(udp, (f) => (f[14] = 0x40)), 'ipv4-bad-header-length'],
    ['IHL 15, beyond the frame', edited(udp, (f) => (f[14] = 0x4f)), 'ipv4-bad-header-length'],
    ['total length < IHL', edited(udp, (f) => f.writeUInt16BE(19, 16)), 'ipv4-bad-total-length'],
    ['total length > frame', edited(udp, (f) => f.writeUInt16BE(29, 16)), 'ipv4-bad-total-length'],
    ['checksum: the TTL flipped', flipped(udp, 14 + 8), 'ipv4-bad-checksum'],
    ['checksum: the checksum flipped', flipped(udp, 14 + 10), 'ipv4-bad-checksum'],
    ['UDP length 7', edited(udp, (f) => f.writeUInt16BE(7, 38)), 'udp-bad-length'],
    ['UDP length beyond the IP payload', edited(udpFrame(10), (f) => f.writeUInt16BE(19, 38)), 'udp-bad-length'],
    ['TCP data offset 4', edited(tcpFrame(10), (f) => (f[34 + 12] = 4 << 4)), 'tcp-bad-header-length'],
    [
      'TCP data offset beyond the IP payload',
      edited(tcpFrame(3), (f) => (f[34 + 12] = 6 << 4)),
      'tcp-bad-header-length',
    ],
    ['UDP truncated: 7 bytes of IP payload', ipv4Claiming(IP_PROTOCOLS.udp, 7), 'truncated-l4'],
    ['TCP truncated: 19 bytes of IP payload', ipv4Claiming(IP_PROTOCOLS.tcp, 19), 'truncated-l4'],
  ];

  for (const [name, frame, reason] of corpus) {
    it(`${name}: ${reason}`, () => {
      const before = Buffer.from(frame);
      assert.equal(parseFrame(frame, new FrameView()), reason);
      assert.ok(frame.equals(before), 'the parser must not write to the frame');
    });
  }

  it('has a case for every reason, and a description for each', () => {
    assert.deepEqual(new Set(corpus.map(([, , reason]) => reason)), new Set(Object.keys(FRAME_REJECT_REASONS)));
    for (const description of Object.values(FRAME_REJECT_REASONS)) assert.ok(description.length > 10);
  });
});

describe('parseFrame reuses the caller view', () => {
  it('fills the same object without adding properties, whatever the frame', () => {
    const view = new FrameView();
    const keys = Object.keys(view);
    for (const frame of [
      tcpFrame(5),
      withVlanTag(udpFrame(0), 9),
      Buffer.alloc(3),
      Buffer.alloc(MAX_FRAME_BYTES + 1),
    ]) {
      parseFrame(frame, view);
      assert.deepEqual(Object.keys(view), keys);
    }
  });

  it('leaves no L3/L4 field of the previous frame after a rejection', () => {
    const view = new FrameView();
    const good = withVlanTag(tcpFrame(5), 42, 3);
    parseClean(good, view);
    assert.equal(view.srcPort, 40000);
    const badChecksum = flipped(udpFrame(0), 14 + 8);
    assert.equal(parseFrame(badChecksum, view), 'ipv4-bad-checksum');
    assert.deepEqual(
      {
        vlanId: view.vlanId,
        vlanPcp: view.vlanPcp,
        ipv4: view.ipv4,
        ipSrc: view.ipSrc,
        ttl: view.ttl,
        l4Offset: view.l4Offset,
        srcPort: view.srcPort,
        dstPort: view.dstPort,
        tcpFlags: view.tcpFlags,
        payloadOffset: view.payloadOffset,
        payloadLength: view.payloadLength,
      },
      {
        vlanId: -1,
        vlanPcp: 0,
        ipv4: false,
        ipSrc: 0,
        ttl: 0,
        l4Offset: -1,
        srcPort: 0,
        dstPort: 0,
        tcpFlags: 0,
        payloadOffset: -1,
        payloadLength: 0,
      },
    );
    // What was read before the fault is kept, for counters and traces.
    assert.equal(view.length, badChecksum.length);
    assert.equal(macToString(view.srcMacHi, view.srcMacLo), A);
  });

  it('resets every field to what a new view holds', () => {
    const view = new FrameView();
    parseClean(withVlanTag(tcpFrame(5), 42, 3), view);
    view.reset();
    assert.deepEqual({ ...view }, { ...new FrameView() });
  });

  it('clears the tag and ports when a tagged TCP frame is followed by an untagged ARP frame', () => {
    const view = new FrameView();
    parseClean(withVlanTag(tcpFrame(5), 42, 3), view);
    parseClean(buildFrame({ dstMac: B, srcMac: A, etherType: ETHER_TYPES.arp }), view);
    assert.deepEqual([view.vlanId, view.vlanPcp, view.ipv4, view.srcPort, view.tcpFlags], [-1, 0, false, 0, 0]);
  });
});
