import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrame } from './build-frame';
import { ipv4HeaderChecksum, l4Checksum, verifyL4Checksum } from './checksum';
import { FrameView } from './frame-view';
import { ETHER_TYPES } from './packet.constants';
import { parseFrame } from './parse-frame';

// 192.168.0.1 -> 192.168.0.199, the IPv4 header example most references use; its checksum is 0xb861.
const REFERENCE_HEADER = '450000730000400040110000c0a80001c0a800c7';

function parsed(frame: Buffer): FrameView {
  const view = new FrameView();
  assert.equal(parseFrame(frame, view), undefined);
  return view;
}

const base = { dstMac: '02:00:00:00:00:02', srcMac: '02:00:00:00:00:01', ipv4: { src: '10.1.2.3', dst: '10.3.2.1' } };

describe('ipv4HeaderChecksum', () => {
  it('computes the reference header checksum, and 0 over a header that carries it', () => {
    const header = Buffer.from(REFERENCE_HEADER, 'hex');
    assert.equal(ipv4HeaderChecksum(header, 0, 20), 0xb861);
    header.writeUInt16BE(0xb861, 10);
    assert.equal(ipv4HeaderChecksum(header, 0, 20), 0);
  });

  it('reads from the given offset only', () => {
    const frame = Buffer.concat([Buffer.alloc(14, 0xff), Buffer.from(REFERENCE_HEADER, 'hex'), Buffer.alloc(4, 0xff)]);
    assert.equal(ipv4HeaderChecksum(frame, 14, 20), 0xb861);
  });
});

describe('l4Checksum', () => {
  it('matches an independently computed UDP checksum, odd payload length included', () => {
    // Computed with a separate RFC 768 implementation (Python, struct-based): 192.168.0.1:1234 -> 192.168.0.199:5678.
    const frame = Buffer.from(
      '020000000002020000000001080045000021000000004011f8b3c0a80001c0a800c704d2162e000d1ee968656c6c6f',
      'hex',
    );
    assert.equal(verifyL4Checksum(frame, parsed(frame)), true);
    const zeroed = Buffer.from(frame);
    zeroed.writeUInt16BE(0, 40);
    assert.equal(l4Checksum(zeroed, 14, 34, 13), 0x1ee9);
  });

  it('is what buildFrame writes, for UDP and TCP', () => {
    const built = buildFrame({
      dstMac: '02:00:00:00:00:02',
      srcMac: '02:00:00:00:00:01',
      ipv4: { src: '192.168.0.1', dst: '192.168.0.199' },
      tcp: { srcPort: 40000, dstPort: 80, seq: 1, ack: 2, flags: 0x18, window: 1024 },
      payload: Buffer.from('GET /'),
    });
    // Also from the separate implementation.
    assert.equal(built.readUInt16BE(34 + 16), 0xc2b5);
  });
});

describe('verifyL4Checksum', () => {
  it('is true for built UDP and TCP frames, and false once a payload bit flips', () => {
    for (const l4 of [{ udp: { srcPort: 1, dstPort: 2 } }, { tcp: { srcPort: 3, dstPort: 4 } }]) {
      const frame = buildFrame({ ...base, ...l4, payload: Buffer.from('abc') });
      assert.equal(verifyL4Checksum(frame, parsed(frame)), true);
      frame[frame.length - 1] ^= 1;
      assert.equal(verifyL4Checksum(frame, parsed(frame)), false);
    }
  });

  it('accepts a UDP datagram sent without a checksum (0)', () => {
    const frame = buildFrame({ ...base, udp: { srcPort: 1, dstPort: 2 }, payload: Buffer.from('abc') });
    frame.writeUInt16BE(0, 34 + 6);
    assert.equal(verifyL4Checksum(frame, parsed(frame)), true);
  });

  it('sends a computed UDP checksum of 0 as 0xffff, which verifies', () => {
    // A two-byte payload equal to the checksum of the zero payload makes the new checksum 0 (one's complement sum).
    const probe = buildFrame({ ...base, udp: { srcPort: 1, dstPort: 2 }, payload: Buffer.alloc(2) });
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(probe.readUInt16BE(34 + 6));
    const frame = buildFrame({ ...base, udp: { srcPort: 1, dstPort: 2 }, payload });
    assert.equal(frame.readUInt16BE(34 + 6), 0xffff);
    assert.equal(verifyL4Checksum(frame, parsed(frame)), true);
  });

  it('is false when there is no complete TCP or UDP segment to check', () => {
    const arp = buildFrame({ ...base, ipv4: undefined, etherType: ETHER_TYPES.arp });
    const icmp = buildFrame({ ...base, ipv4: { ...base.ipv4, protocol: 1 } });
    assert.equal(verifyL4Checksum(arp, parsed(arp)), false);
    assert.equal(verifyL4Checksum(icmp, parsed(icmp)), false);
  });
});
