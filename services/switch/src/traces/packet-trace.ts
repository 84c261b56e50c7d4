import { type FrameView, ipv4ToString, macToString } from '@tenantlab/shared';
import type { IngressFrame } from '../pipeline/switch-pipeline';
import type { Verdict } from '../pipeline/switch-port';

/** One sampled frame, as published to `switch.packet-traces` (keyed by tenant). */
export interface PacketTrace {
  tenant: string;
  vlan: number;
  inPort: string;
  outPorts: string[];
  verdict: 'forward' | 'flood' | 'drop';
  dropReason?: string;
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
export interface MirroredFrame {
  tenant: string;
  mirrored: true;
  /** The switch port number the frame came in on. */
  inPortNo: number;
  length: number;
  timestampUs: number;
  firstBytes: string;
}

/** Copies what a trace needs out of the reused parser view. Only sampled frames pay for this. */
export function packetTrace(
  ingress: IngressFrame,
  view: FrameView,
  verdict: Verdict,
  snapBytes: number,
  traceparent: string | undefined,
): PacketTrace {
  const parsed = verdict.kind !== 'drop' || verdict.reason !== 'malformed';
  return {
    tenant: ingress.port.tenant,
    vlan: ingress.port.vlan,
    inPort: ingress.port.vm,
    outPorts: verdict.kind === 'forward' ? verdict.outPorts.map((p) => p.vm) : [],
    verdict: verdict.kind === 'drop' ? 'drop' : verdict.flooded ? 'flood' : 'forward',
    ...(verdict.kind === 'drop' ? { dropReason: verdict.reason } : {}),
    timestampUs: Math.round((performance.timeOrigin + performance.now()) * 1000),
    length: ingress.frame.length,
    headers: parsed
      ? {
          srcMac: macToString(view.srcMacHi, view.srcMacLo),
          dstMac: macToString(view.dstMacHi, view.dstMacLo),
          etherType: view.etherType,
          ...(view.ipv4
            ? {
                ipSrc: ipv4ToString(view.ipSrc),
                ipDst: ipv4ToString(view.ipDst),
                ipProtocol: view.ipProtocol,
                srcPort: view.srcPort,
                dstPort: view.dstPort,
              }
            : {}),
        }
      : { srcMac: '', dstMac: '', etherType: 0 },
    ...(snapBytes > 0 ? { firstBytes: ingress.frame.subarray(0, snapBytes).toString('base64') } : {}),
    ...(traceparent ? { traceId: traceparent.split('-')[1] } : {}),
  };
}
