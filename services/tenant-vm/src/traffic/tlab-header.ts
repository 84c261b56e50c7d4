/**
 * The header each generated frame's payload starts with, so the receiving VM can tell who sent it, on which flow,
 * in which order and when. All fields are big-endian uint32:
 *
 *   0  magic 0x544c4142 ('TLAB')
 *   4  source: the sending VM's vNIC IPv4 address (itself derived from the VM id, see vmIpv4Address)
 *   8  flow id
 *  12  sequence number within (source, destination, flow)
 *  16  send time: the host's monotonic clock in µs, low 32 bits (wraps every 71 minutes; differences stay right)
 *
 * 20 bytes, so a 64-byte UDP frame still carries it (14 Ethernet + 20 IPv4 + 8 UDP + 20 = 62).
 */
export const TLAB_MAGIC = 0x544c4142;
export const TLAB_HEADER_BYTES = 20;

export interface TlabHeader {
  source: number;
  flow: number;
  seq: number;
  sentUs: number;
}

export function writeTlabHeader(target: Buffer, offset: number, header: TlabHeader): void {
  target.writeUInt32BE(TLAB_MAGIC, offset);
  target.writeUInt32BE(header.source >>> 0, offset + 4);
  target.writeUInt32BE(header.flow >>> 0, offset + 8);
  target.writeUInt32BE(header.seq >>> 0, offset + 12);
  target.writeUInt32BE(header.sentUs >>> 0, offset + 16);
}

/**
 * Reads the header at `offset` into `into` (reused, so the receive path allocates nothing). False when the `length`
 * bytes there are too few or do not start with the magic: not a frame this workload sent.
 */
export function readTlabHeader(source: Buffer, offset: number, length: number, into: TlabHeader): boolean {
  if (length < TLAB_HEADER_BYTES || offset < 0 || offset + TLAB_HEADER_BYTES > source.length) return false;
  if (source.readUInt32BE(offset) !== TLAB_MAGIC) return false;
  into.source = source.readUInt32BE(offset + 4);
  into.flow = source.readUInt32BE(offset + 8);
  into.seq = source.readUInt32BE(offset + 12);
  into.sentUs = source.readUInt32BE(offset + 16);
  return true;
}

/**
 * The host's monotonic clock (CLOCK_MONOTONIC, shared by every process on the host, containers included) in µs,
 * low 32 bits: what senders stamp and receivers compare against.
 */
export function monotonicMicros32(): number {
  return Number((process.hrtime.bigint() / 1000n) & 0xffffffffn);
}

/** Microseconds from `sentUs` to `nowUs` on the wrapping 32-bit clock; undefined if `sentUs` looks later than now. */
export function elapsedMicros32(sentUs: number, nowUs: number): number | undefined {
  const elapsed = (nowUs - sentUs) >>> 0;
  return elapsed >= 0x80000000 ? undefined : elapsed;
}
