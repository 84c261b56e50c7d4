import {
  type FrameView,
  ipv4ToString,
  macToString,
  type MirroredFrameMessage,
  type PacketTraceMessage,
} from '@tenantlab/shared';
import type { IngressFrame } from '../pipeline/switch-pipeline';
import type { Verdict } from '../pipeline/switch-port';

/** The message formats of `switch.packet-traces` are the contract in @tenantlab/shared (telemetry reads them). */
export type PacketTrace = PacketTraceMessage;
export type MirroredFrame = MirroredFrameMessage;

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
    ...(verdict.kind === 'drop' && verdict.malformed ? { malformedReason: verdict.malformed } : {}),
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
