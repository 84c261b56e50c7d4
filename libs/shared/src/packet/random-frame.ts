import { TENANT_VLAN_RANGE } from '../port';
import type { FrameSpec } from './build-frame';
import { ETHER_TYPES, IP_PROTOCOLS } from './packet.constants';

/**
 * Mulberry32: a tiny seeded PRNG (32-bit state, uniform in [0, 1)), so property tests and benchmarks replay the same
 * traffic from the same seed. Not for anything that must be unpredictable.
 */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Largest payload `randomFrameSpec` draws: keeps every frame within a 1500-byte MTU plus headers. */
export const RANDOM_PAYLOAD_MAX_BYTES = 1400;

const NON_IPV4_ETHER_TYPES = [ETHER_TYPES.arp, ETHER_TYPES.ipv6, 0x88b5 /* IEEE 802 local experimental */];
const OTHER_IP_PROTOCOLS = [IP_PROTOCOLS.icmp, IP_PROTOCOLS.experimental, 47 /* GRE */];

function int(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[int(random, 0, items.length - 1)];
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** A random MAC; unicast unless `group`, always locally administered (02 bit) so it never claims a vendor's range. */
function mac(random: () => number, group: boolean): string {
  const first = (int(random, 0, 255) & 0xfc) | 0x02 | (group ? 0x01 : 0);
  const rest = Array.from({ length: 5 }, () => int(random, 0, 255));
  return [first, ...rest].map(hex2).join(':');
}

function ipv4(random: () => number): string {
  return `10.${int(random, 0, 255)}.${int(random, 0, 255)}.${int(random, 1, 254)}`;
}

/**
 * A valid FrameSpec drawn from `random` (use `mulberry32` for reproducible traffic): about 40% UDP, 40% TCP, 10%
 * IPv4 with another protocol, 10% other EtherTypes (ARP, IPv6, experimental); half tagged with a tenant VLAN;
 * payloads of 0-1400 random bytes; one destination in 16 broadcast and one in 16 multicast.
 */
export function randomFrameSpec(random: () => number): FrameSpec {
  const roll = random();
  const dstMac = roll < 1 / 16 ? 'ff:ff:ff:ff:ff:ff' : mac(random, roll < 2 / 16);
  const spec: FrameSpec = { dstMac, srcMac: mac(random, false) };
  if (random() < 0.5) {
    spec.vlanId = int(random, TENANT_VLAN_RANGE.min, TENANT_VLAN_RANGE.max);
    spec.vlanPcp = int(random, 0, 7);
  }
  const kind = random();
  const ports = (): { srcPort: number; dstPort: number } => ({
    srcPort: int(random, 1024, 65535),
    dstPort: int(random, 1, 65535),
  });
  if (kind >= 0.9) {
    spec.etherType = pick(random, NON_IPV4_ETHER_TYPES);
  } else {
    const [src, dst] = [ipv4(random), ipv4(random)];
    spec.ipv4 = { src, dst, ttl: int(random, 1, 255), id: int(random, 0, 65535), dscp: int(random, 0, 63) };
    if (kind < 0.4) {
      spec.udp = ports();
    } else if (kind < 0.8) {
      const [seq, ack] = [int(random, 0, 0xffffffff), int(random, 0, 0xffffffff)];
      spec.tcp = { ...ports(), seq, ack, flags: int(random, 0, 255), window: int(random, 0, 65535) };
    } else {
      spec.ipv4.protocol = pick(random, OTHER_IP_PROTOCOLS);
    }
  }
  const payload = Buffer.allocUnsafe(int(random, 0, RANDOM_PAYLOAD_MAX_BYTES));
  for (let i = 0; i < payload.length; i += 1) payload[i] = int(random, 0, 255);
  spec.payload = payload;
  return spec;
}
