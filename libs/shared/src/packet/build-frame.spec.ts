import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors';
import { MAX_FRAME_BYTES } from '../port';
import { buildFrame, type FrameSpec } from './build-frame';
import { FrameView } from './frame-view';
import { ETHER_TYPES, IP_PROTOCOLS, TCP_FLAGS } from './packet.constants';
import { parseFrame } from './parse-frame';

const base: FrameSpec = { dstMac: '02:00:00:00:00:02', srcMac: '02:00:00:00:00:01' };
const ip = { src: '192.168.0.1', dst: '192.168.0.199' };

function problems(spec: FrameSpec): string[] {
  try {
    buildFrame(spec);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    assert.equal(error.message, `Invalid frame spec: ${error.details.join('; ')}`);
    return error.details;
  }
  assert.fail('expected buildFrame to throw');
}

describe('buildFrame', () => {
  it('writes the bytes an independent implementation writes', () => {
    // Computed with a separate Python implementation of RFC 791 / RFC 768.
    const frame = buildFrame({
      ...base,
      ipv4: ip,
      udp: { srcPort: 1234, dstPort: 5678 },
      payload: Buffer.from('hello'),
    });
    assert.equal(
      frame.toString('hex'),
      '020000000002020000000001080045000021000000004011f8b3c0a80001c0a800c704d2162e000d1ee968656c6c6f',
    );
  });

  it('fills defaults: TTL 64, ACK, window 65535, and protocol 253 for IPv4 alone', () => {
    const view = new FrameView();
    const tcp = buildFrame({ ...base, ipv4: ip, tcp: { srcPort: 1, dstPort: 2 } });
    assert.equal(parseFrame(tcp, view), undefined);
    assert.deepEqual([view.ttl, view.tcpFlags, tcp.readUInt16BE(34 + 14)], [64, TCP_FLAGS.ack, 65535]);
    const bare = buildFrame({ ...base, ipv4: ip });
    assert.equal(parseFrame(bare, view), undefined);
    assert.equal(view.ipProtocol, IP_PROTOCOLS.experimental);
  });

  it('writes the tag right after the MACs', () => {
    const frame = buildFrame({ ...base, vlanId: 0xabc, vlanPcp: 5, etherType: ETHER_TYPES.arp });
    assert.equal(frame.subarray(12, 18).toString('hex'), '8100' + ((5 << 13) | 0xabc).toString(16) + '0806');
  });

  it('names a bad address and what it expects', () => {
    assert.deepEqual(problems({ ...base, dstMac: '02:00:00:00:00', ipv4: { src: '10.0.0.256', dst: '10.0.0.01' } }), [
      'dstMac: "02:00:00:00:00" is not a MAC address: expected six hex pairs with colons, like 02:00:00:00:00:01',
      'ipv4.src: "10.0.0.256" is not an IPv4 address: expected a dotted quad of 0-255, no leading zeros, like 10.0.0.1',
      'ipv4.dst: "10.0.0.01" is not an IPv4 address: expected a dotted quad of 0-255, no leading zeros, like 10.0.0.1',
    ]);
  });

  it('names every out-of-range number', () => {
    assert.deepEqual(
      problems({
        ...base,
        vlanId: 4096,
        ipv4: { ...ip, ttl: 256, id: -1, dscp: 64 },
        tcp: { srcPort: 70000, dstPort: 1.5, seq: 2 ** 32, flags: 256, window: 65536 },
      }),
      [
        'vlanId 4096 is not an integer 0-4095',
        'ipv4.ttl 256 is not an integer 0-255',
        'ipv4.id -1 is not an integer 0-65535',
        'ipv4.dscp 64 is not an integer 0-63',
        'tcp.srcPort 70000 is not an integer 0-65535',
        'tcp.dstPort 1.5 is not an integer 0-65535',
        'tcp.seq 4294967296 is not an integer 0-4294967295',
        'tcp.flags 256 is not an integer 0-255',
        'tcp.window 65536 is not an integer 0-65535',
      ],
    );
    assert.deepEqual(problems({ ...base, vlanId: 1, vlanPcp: 8, etherType: 0x10000 }), [
      'vlanPcp 8 is not an integer 0-7',
      'etherType 65536 is not an integer 0-65535',
    ]);
  });

  it('refuses layers that contradict each other', () => {
    const udp = { srcPort: 1, dstPort: 2 };
    const cases: [FrameSpec, string][] = [
      [{ ...base, ipv4: ip, udp, tcp: udp }, 'udp and tcp are both set: a frame carries one of them'],
      [{ ...base, etherType: ETHER_TYPES.arp, udp }, 'udp and tcp need an ipv4 section'],
      [base, 'etherType is required for a frame without ipv4'],
      [{ ...base, etherType: ETHER_TYPES.vlan }, 'etherType 0x8100 is a VLAN tag type: set vlanId instead'],
      [{ ...base, etherType: ETHER_TYPES.qinq }, 'etherType 0x88a8 is a VLAN tag type: set vlanId instead'],
      [{ ...base, etherType: ETHER_TYPES.arp, ipv4: ip }, 'etherType 0x0806 contradicts ipv4 (0x0800)'],
      [{ ...base, etherType: ETHER_TYPES.ipv4 }, 'etherType 0x0800 (IPv4) needs an ipv4 section'],
      [{ ...base, etherType: ETHER_TYPES.arp, vlanPcp: 1 }, 'vlanPcp needs vlanId'],
      [{ ...base, ipv4: { ...ip, protocol: IP_PROTOCOLS.tcp }, udp }, 'ipv4.protocol 6 contradicts the udp section'],
      [{ ...base, ipv4: { ...ip, protocol: IP_PROTOCOLS.udp } }, 'ipv4.protocol 17 needs a udp section'],
    ];
    for (const [spec, problem] of cases) assert.deepEqual(problems(spec), [problem]);
  });

  it('refuses a frame over MAX_FRAME_BYTES and builds one of exactly that size', () => {
    const payload = Buffer.alloc(MAX_FRAME_BYTES - 14 - 28);
    assert.equal(buildFrame({ ...base, ipv4: ip, udp: { srcPort: 1, dstPort: 2 }, payload }).length, MAX_FRAME_BYTES);
    assert.deepEqual(
      problems({ ...base, ipv4: ip, udp: { srcPort: 1, dstPort: 2 }, payload: Buffer.alloc(payload.length + 1) }),
      [`frame would be ${MAX_FRAME_BYTES + 1} bytes, over MAX_FRAME_BYTES (${MAX_FRAME_BYTES}): shorten the payload`],
    );
  });
});
