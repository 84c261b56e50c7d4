import { ValidationError } from '../errors';
import { HEADER_BYTES } from '../packet';
import {
  LINKTYPE_ETHERNET,
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_BYTES,
  PCAPNG_BLOCK_TYPE,
} from './pcap-format';

/** One record of a capture: when, relative to the first record, and the bytes captured. */
export interface PcapRecord {
  /**
   * Nanoseconds since the first record's timestamp (negative if a capture tool wrote it out of order). Relative, so
   * a double holds it exactly (to 104 days) where an absolute time in ns would not.
   */
  readonly offsetNs: number;
  /** The captured bytes: a view into the file's buffer, not a copy. */
  readonly bytes: Buffer;
  /** How long the frame was on the wire; more than `bytes.length` when the capture cut it at its snap length. */
  readonly originalLength: number;
}

export interface PcapCapture {
  readonly resolution: 'us' | 'ns';
  readonly byteOrder: 'little-endian' | 'big-endian';
  readonly snapLength: number;
  readonly records: readonly PcapRecord[];
}

/**
 * Parses a classic libpcap file of Ethernet frames (microsecond or nanosecond timestamps, either byte order). Every
 * problem is an error that names `name` (the file) and, for a record, its index (from 0) and byte offset, so a
 * broken capture is found with a hex editor rather than guessed at. pcapng and other link types are refused: the
 * lab replays Ethernet frames only.
 */
export function readPcap(file: Buffer, name: string): PcapCapture {
  const fail = (problem: string): never => {
    throw new ValidationError(`${name}: ${problem}`, [problem]);
  };
  if (file.length < PCAP_GLOBAL_HEADER_BYTES) {
    fail(`${file.length} bytes is shorter than a pcap global header (${PCAP_GLOBAL_HEADER_BYTES} bytes)`);
  }
  const magic = file.readUInt32LE(0);
  if (magic === PCAPNG_BLOCK_TYPE) {
    fail('a pcapng file, not classic pcap: convert it with `editcap -F pcap <in> <out>` (or tcpdump -w)');
  }
  const format = MAGICS.get(magic) ?? MAGICS_SWAPPED.get(magic);
  if (format === undefined) {
    fail(`not a pcap file: magic 0x${hex(magic)} is none of a1b2c3d4 (µs) and a1b23c4d (ns), in either byte order`);
  }
  const { resolution, littleEndian } = format!;
  const u32 = littleEndian ? (at: number) => file.readUInt32LE(at) : (at: number) => file.readUInt32BE(at);
  const snapLength = u32(16);
  const linkType = u32(20);
  if (linkType !== LINKTYPE_ETHERNET) {
    fail(`link type ${linkType}, but only ${LINKTYPE_ETHERNET} (Ethernet) can be replayed`);
  }
  const nsPerUnit = resolution === 'ns' ? 1 : 1000;
  const unitsPerSecond = resolution === 'ns' ? 1e9 : 1e6;

  const records: PcapRecord[] = [];
  let first: { seconds: number; fraction: number } | undefined;
  let at = PCAP_GLOBAL_HEADER_BYTES;
  while (at < file.length) {
    const where = `record ${records.length} at byte ${at}`;
    if (file.length - at < PCAP_RECORD_HEADER_BYTES) {
      fail(`${where}: truncated header, ${file.length - at} of ${PCAP_RECORD_HEADER_BYTES} bytes`);
    }
    const seconds = u32(at);
    const fraction = u32(at + 4);
    const capturedLength = u32(at + 8);
    const originalLength = u32(at + 12);
    if (fraction >= unitsPerSecond) {
      fail(`${where}: sub-second field ${fraction} is not under ${unitsPerSecond} (${resolution} resolution)`);
    }
    if (capturedLength > snapLength) {
      fail(`${where}: captured length ${capturedLength} is over the file's snap length ${snapLength}`);
    }
    if (capturedLength < HEADER_BYTES.ethernet) {
      fail(`${where}: captured length ${capturedLength} is under an Ethernet header (${HEADER_BYTES.ethernet} bytes)`);
    }
    const data = at + PCAP_RECORD_HEADER_BYTES;
    if (file.length - data < capturedLength) {
      fail(`${where}: truncated data, ${file.length - data} of ${capturedLength} captured bytes`);
    }
    first ??= { seconds, fraction };
    records.push({
      offsetNs: (seconds - first.seconds) * 1e9 + (fraction - first.fraction) * nsPerUnit,
      bytes: file.subarray(data, data + capturedLength),
      originalLength,
    });
    at = data + capturedLength;
  }
  return { resolution, byteOrder: littleEndian ? 'little-endian' : 'big-endian', snapLength, records };
}

interface Format {
  resolution: 'us' | 'ns';
  littleEndian: boolean;
}

/** The magic as read little-endian: the file is little-endian when it matches as is, big-endian when swapped. */
const MAGICS = new Map<number, Format>([
  [PCAP_MAGIC_MICROSECONDS, { resolution: 'us', littleEndian: true }],
  [PCAP_MAGIC_NANOSECONDS, { resolution: 'ns', littleEndian: true }],
]);
const MAGICS_SWAPPED = new Map<number, Format>(
  [...MAGICS].map(([magic, format]) => [swap32(magic), { ...format, littleEndian: false }]),
);

function swap32(value: number): number {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer.readUInt32BE();
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
