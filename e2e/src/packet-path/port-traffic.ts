import {
  buildFrame,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  portEntryContent,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/** Where a sequenced frame's number sits: right after the Ethernet, IPv4 and UDP headers. */
const SEQUENCE_AT = 14 + 20 + 8;

export interface FrameOptions {
  srcPort?: number;
  dstPort?: number;
  payloadBytes?: number;
}

/**
 * A UDP frame from VM `from` to VM `to`, or to a MAC address (`to` with colons: a broadcast, another tenant's MAC),
 * whose payload starts with `seq`, so what arrives can be checked for loss, duplicates and order (`sequenceOf`).
 */
export function sequencedFrame(from: string, to: string, seq: number, options: FrameOptions = {}): Buffer {
  const payload = Buffer.alloc(options.payloadBytes ?? 16);
  payload.writeUInt32BE(seq, 0);
  const toMac = to.includes(':');
  return buildFrame({
    srcMac: vmMacAddress(from),
    dstMac: toMac ? to : vmMacAddress(to),
    ipv4: { src: vmIpv4Address(from), dst: toMac ? '10.255.255.255' : vmIpv4Address(to) },
    udp: { srcPort: options.srcPort ?? 5000, dstPort: options.dstPort ?? 6000 },
    payload,
  });
}

export function sequenceOf(frame: Buffer): number {
  return frame.readUInt32BE(SEQUENCE_AT);
}

/** Puts frames on a VM's tx stream, as its vNIC would, in one round trip. */
export async function sendFrames(redis: Redis, from: string, frames: readonly Buffer[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const frame of frames) pipeline.xadd(PORT_KEYS.tx(from), '*', PORT_ENTRY_FIELDS.frame, frame);
  await pipeline.exec();
}

/** The frames in a VM's rx stream, in order: an entry may carry one or, packed, many (issue 11). */
export async function receivedFrames(redis: Redis, vm: string): Promise<Buffer[]> {
  const entries = await redis.xrangeBuffer(PORT_KEYS.rx(vm), '-', '+');
  return entries.flatMap(([, fields]) => portEntryContent(fields).frames.map(({ frame }) => frame));
}

/** The sequence numbers of every frame in a VM's rx stream, in order. */
export async function receivedSequences(redis: Redis, vm: string): Promise<number[]> {
  return (await receivedFrames(redis, vm)).map(sequenceOf);
}

/** How many frames wait in a VM's rx stream (its length counts entries, and an entry may carry many frames). */
export async function rxFrameCount(redis: Redis, vm: string): Promise<number> {
  return (await receivedFrames(redis, vm)).length;
}

/**
 * Bytes of frames in a VM's rx, read a page at a time: whole rx streams of megabytes in one reply, several at once,
 * pass the output buffer limit Redis gives every client (redis-limits.ts) and the connection is cut.
 */
export async function rxFrameBytes(redis: Redis, vm: string): Promise<number> {
  let bytes = 0;
  let after = '-';
  for (;;) {
    const page = await redis.xrangeBuffer(PORT_KEYS.rx(vm), after, '+', 'COUNT', 64);
    for (const [, fields] of page) for (const { frame } of portEntryContent(fields).frames) bytes += frame.length;
    if (page.length < 64) return bytes;
    after = `(${page[page.length - 1][0].toString()}`;
  }
}
