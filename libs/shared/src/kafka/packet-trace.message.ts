import { ID_PATTERN } from '../lab/lab-topology';
import { parseJsonObject, type ParseResult } from './parse-message';

/** One sampled frame, as the switch publishes it to `switch.packet-traces` (keyed by tenant). */
export interface PacketTraceMessage {
  tenant: string;
  vlan: number;
  inPort: string;
  outPorts: string[];
  verdict: 'forward' | 'flood' | 'drop';
  /** Why the frame was dropped: one of the switch's drop reasons (the counter it was counted under). */
  dropReason?: string;
  /** For `malformed`: the parser's reason (a FrameRejectReason, such as `ipv4-bad-checksum`). */
  malformedReason?: string;
  /**
   * Destinations the frame was decided for but not handed to, each with its drop reason (`rx-full`,
   * `port-quarantined`). A frame dropped at every destination has verdict `drop` and the first of these reasons.
   */
  egressDrops?: { outPort: string; reason: string }[];
  /** Epoch microseconds when the switch decided. */
  timestampUs: number;
  length: number;
  headers: {
    srcMac: string;
    dstMac: string;
    etherType: number;
    ipSrc?: string;
    ipDst?: string;
    ipProtocol?: number;
    srcPort?: number;
    dstPort?: number;
  };
  /** The first bytes of the frame, base64, when the switch is configured to capture them. */
  firstBytes?: string;
  /** The W3C trace id of the span that sent the frame, when the sender had one. */
  traceId?: string;
}

/** A frame a tenant program copied to the trace topic with its `mirror` op, as it was when mirrored. */
export interface MirroredFrameMessage {
  tenant: string;
  mirrored: true;
  /** The switch port number the frame came in on. */
  inPortNo: number;
  length: number;
  timestampUs: number;
  firstBytes: string;
}

export type TraceTopicMessage = PacketTraceMessage | MirroredFrameMessage;

/** The switch snaps at most 9216 bytes (a jumbo frame); base64 and the JSON around it stay well below this. */
export const MAX_TRACE_MESSAGE_BYTES = 64 * 1024;
/** The largest frame a trace can describe (jumbo frames included). */
export const MAX_TRACED_FRAME_BYTES = 65_535;
const VERDICTS = ['forward', 'flood', 'drop'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Validates one value from `switch.packet-traces`. Anything else on the topic (other producers, old formats, plain
 * garbage) gets a reason naming the first thing wrong, so a consumer can count it and go on.
 */
export function parseTraceTopicMessage(value: Buffer | null): ParseResult<TraceTopicMessage> {
  const parsed = parseJsonObject(value, MAX_TRACE_MESSAGE_BYTES);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  const problem = commonProblem(m) ?? ('mirrored' in m ? mirroredProblem(m) : traceProblem(m));
  return problem === undefined
    ? { ok: true, value: m as unknown as TraceTopicMessage }
    : { ok: false, reason: problem };
}

function commonProblem(m: Record<string, unknown>): string | undefined {
  if (typeof m['tenant'] !== 'string' || !ID_PATTERN.test(m['tenant'])) return 'tenant: expected a tenant id';
  if (!isCount(m['timestampUs'])) return 'timestampUs: expected epoch microseconds';
  if (!isCount(m['length']) || (m['length'] as number) > MAX_TRACED_FRAME_BYTES) {
    return `length: expected a frame length from 0 to ${MAX_TRACED_FRAME_BYTES}`;
  }
  const bytes = m['firstBytes'];
  if (bytes !== undefined) {
    if (typeof bytes !== 'string' || bytes.length % 4 !== 0 || !BASE64.test(bytes)) {
      return 'firstBytes: expected base64';
    }
    if (Buffer.from(bytes, 'base64').length > (m['length'] as number)) {
      return 'firstBytes: more bytes than the frame is long';
    }
  }
  return undefined;
}

function mirroredProblem(m: Record<string, unknown>): string | undefined {
  if (m['mirrored'] !== true) return 'mirrored: expected true';
  if (!isCount(m['inPortNo'])) return 'inPortNo: expected a port number';
  if (typeof m['firstBytes'] !== 'string') return 'firstBytes: a mirrored frame carries its bytes';
  return undefined;
}

function traceProblem(m: Record<string, unknown>): string | undefined {
  if (!isCount(m['vlan']) || (m['vlan'] as number) > 4094) return 'vlan: expected a VLAN id';
  if (typeof m['inPort'] !== 'string') return 'inPort: expected the VM the frame came from';
  if (!Array.isArray(m['outPorts']) || !m['outPorts'].every((p) => typeof p === 'string')) {
    return 'outPorts: expected a list of VMs';
  }
  if (typeof m['verdict'] !== 'string' || !VERDICTS.includes(m['verdict'])) {
    return `verdict: expected one of ${VERDICTS.join(', ')}`;
  }
  if (m['dropReason'] !== undefined && typeof m['dropReason'] !== 'string') return 'dropReason: expected a string';
  if (m['malformedReason'] !== undefined && typeof m['malformedReason'] !== 'string') {
    return 'malformedReason: expected a string';
  }
  const egressDrops = m['egressDrops'];
  if (
    egressDrops !== undefined &&
    !(
      Array.isArray(egressDrops) &&
      egressDrops.every(
        (d) =>
          typeof d === 'object' &&
          d !== null &&
          typeof (d as Record<string, unknown>)['outPort'] === 'string' &&
          typeof (d as Record<string, unknown>)['reason'] === 'string',
      )
    )
  ) {
    return 'egressDrops: expected a list of { outPort, reason }';
  }
  const headers = m['headers'];
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return 'headers: expected an object';
  if (m['traceId'] !== undefined && (typeof m['traceId'] !== 'string' || !/^[0-9a-f]{32}$/.test(m['traceId']))) {
    return 'traceId: expected 32 hex digits';
  }
  return undefined;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
