import {
  LINKTYPE_ETHERNET,
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_RECORD_HEADER_BYTES,
} from './pcap-format';

/** One captured frame: when, its first bytes, and how long it really was. */
export interface CapturedFrame {
  readonly timestampUs: number;
  readonly bytes: Buffer;
  readonly originalLength: number;
}

/**
 * Frames as a pcap file in libpcap's classic format, microsecond timestamps, little-endian (what tcpdump writes and
 * Wireshark reads). `snapLength` is the most bytes any record holds (the switch's TRACE_SNAP_BYTES); a record
 * keeps `originalLength` so Wireshark shows the frame as cut short, not as a short frame.
 */
export function pcapFile(frames: readonly CapturedFrame[], snapLength: number): Buffer {
  const size = frames.reduce((sum, f) => sum + PCAP_RECORD_HEADER_BYTES + f.bytes.length, PCAP_GLOBAL_HEADER_BYTES);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(PCAP_MAGIC_MICROSECONDS, 0);
  out.writeUInt16LE(2, 4); // version 2.4
  out.writeUInt16LE(4, 6);
  out.writeInt32LE(0, 8); // timestamps are UTC
  out.writeUInt32LE(0, 12);
  out.writeUInt32LE(Math.max(snapLength, ...frames.map((f) => f.bytes.length), 1), 16);
  out.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  let at = PCAP_GLOBAL_HEADER_BYTES;
  for (const frame of frames) {
    out.writeUInt32LE(Math.floor(frame.timestampUs / 1e6), at);
    out.writeUInt32LE(frame.timestampUs % 1e6, at + 4);
    out.writeUInt32LE(frame.bytes.length, at + 8);
    out.writeUInt32LE(Math.max(frame.originalLength, frame.bytes.length), at + 12);
    frame.bytes.copy(out, at + PCAP_RECORD_HEADER_BYTES);
    at += PCAP_RECORD_HEADER_BYTES + frame.bytes.length;
  }
  return out;
}
