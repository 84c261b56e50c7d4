import { type FrameRejectReason, FrameView, IP_PROTOCOLS, ipv4ToString, parseFrame, parseMac } from '@tenantlab/shared';
import { LatencyHistogram } from './latency-histogram';
import { type SequenceCounts, SequenceTracker } from './sequence-tracker';
import { elapsedMicros32, readTlabHeader, type TlabHeader } from './tlab-header';

/** Flows tracked at most (all sources together), so a flood of distinct flow ids cannot exhaust memory. */
export const MAX_TRACKED_FLOWS = 100_000;
/** Flows listed per source in a report, the busiest first. */
const REPORTED_FLOWS = 100;

/** Why a received frame was not counted as workload traffic: parseFrame's reasons, plus these. */
export const TRAFFIC_REJECT_REASONS = {
  'not-for-this-vm': "unicast to another VM's MAC: the switch flooded it (it had not yet learned where that MAC is)",
  'not-udp-or-tcp': 'a valid frame, but not IPv4 carrying UDP or TCP',
  'not-tlab': 'the payload is shorter than the TLAB header or does not start with its magic',
  'too-many-flows': `a new flow after ${MAX_TRACKED_FLOWS} were already tracked (DELETE /traffic/received resets)`,
} as const;

export type TrafficRejectReason = FrameRejectReason | keyof typeof TRAFFIC_REJECT_REASONS;

export interface SourceReport extends SequenceCounts {
  /** Distinct flows seen from this source. */
  flows: number;
  /** Per flow id, the REPORTED_FLOWS busiest. */
  perFlow: Record<string, SequenceCounts>;
}

export interface ReceivedReport {
  /** Every frame received, counted or rejected. */
  total: number;
  /** Keyed by the sender's vNIC IPv4 address (its GET /vnic shows it). */
  bySource: Record<string, SourceReport>;
  /** One-way latency: the send time in the payload against this host's clock on arrival. */
  latencyUs: { samples: number; p50: number | null; p99: number | null };
  rejected: Partial<Record<TrafficRejectReason, number>>;
}

/**
 * Counts what arrives on this VM's vNIC from the traffic workload: per (source, flow), frames received, out of order,
 * duplicated, and missing, and one-way latency. Pure bookkeeping with an injected clock reading, so it is tested
 * without Redis; a reused FrameView and header keep the per-frame path free of allocations.
 */
export class TrafficReceiver {
  private readonly mac: { hi: number; lo: number };
  private readonly view = new FrameView();
  private readonly header: TlabHeader = { source: 0, flow: 0, seq: 0, sentUs: 0 };
  private readonly sources = new Map<number, Map<number, SequenceTracker>>();
  private readonly latency = new LatencyHistogram();
  private readonly rejected = new Map<TrafficRejectReason, number>();
  private total = 0;
  private trackedFlows = 0;

  /** `mac` is this VM's: like a NIC, the receiver takes unicast frames to it, and broadcast and multicast. */
  constructor(mac: string) {
    this.mac = parseMac(mac);
  }

  /** Counts one frame that arrived when the host's monotonic µs clock (low 32 bits) read `nowUs`. */
  receive(frame: Buffer, nowUs: number): void {
    this.total += 1;
    const view = this.view;
    const invalid = parseFrame(frame, view);
    if (invalid !== undefined) return this.reject(invalid);
    if (!view.isMulticast() && (view.dstMacHi !== this.mac.hi || view.dstMacLo !== this.mac.lo)) {
      return this.reject('not-for-this-vm');
    }
    if (!view.ipv4 || (view.ipProtocol !== IP_PROTOCOLS.udp && view.ipProtocol !== IP_PROTOCOLS.tcp)) {
      return this.reject('not-udp-or-tcp');
    }
    if (!readTlabHeader(frame, view.payloadOffset, view.payloadLength, this.header)) return this.reject('not-tlab');
    const { source, flow, seq, sentUs } = this.header;
    let flows = this.sources.get(source);
    let tracker = flows?.get(flow);
    if (!tracker) {
      if (this.trackedFlows >= MAX_TRACKED_FLOWS) return this.reject('too-many-flows');
      tracker = new SequenceTracker();
      this.trackedFlows += 1;
      if (!flows) this.sources.set(source, (flows = new Map<number, SequenceTracker>()));
      flows.set(flow, tracker);
    }
    tracker.record(seq);
    const elapsed = elapsedMicros32(sentUs, nowUs);
    if (elapsed !== undefined) this.latency.record(elapsed);
  }

  report(): ReceivedReport {
    const bySource: Record<string, SourceReport> = {};
    for (const [source, flows] of this.sources) {
      const trackers = [...flows.entries()];
      const sum = (key: keyof SequenceCounts): number => trackers.reduce((total, [, t]) => total + t[key], 0);
      const busiest = trackers.sort(([fa, a], [fb, b]) => b.received - a.received || fa - fb).slice(0, REPORTED_FLOWS);
      bySource[ipv4ToString(source)] = {
        received: sum('received'),
        outOfOrder: sum('outOfOrder'),
        duplicates: sum('duplicates'),
        gaps: sum('gaps'),
        flows: flows.size,
        perFlow: Object.fromEntries(busiest.map(([flow, tracker]) => [String(flow), tracker.counts()])),
      };
    }
    return {
      total: this.total,
      bySource,
      latencyUs: { samples: this.latency.count, p50: this.latency.quantile(0.5), p99: this.latency.quantile(0.99) },
      rejected: Object.fromEntries(this.rejected),
    };
  }

  reset(): void {
    this.sources.clear();
    this.latency.reset();
    this.rejected.clear();
    this.total = 0;
    this.trackedFlows = 0;
  }

  private reject(reason: TrafficRejectReason): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }
}
