import { performance } from 'node:perf_hooks';
import {
  buildFrame,
  HEADER_BYTES,
  mulberry32,
  parseIpv4,
  sleepUntil,
  ValidationError,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { SendAbortedError } from '../vnic/vnic.errors';
import type { FlowSequences } from './flow-sequences';
import { monotonicMicros32, TLAB_HEADER_BYTES, writeTlabHeader } from './tlab-header';
import { ZipfSampler } from './zipf-sampler';

export const TRAFFIC_PROTOCOLS = ['udp', 'tcp'] as const;
export type TrafficProtocol = (typeof TRAFFIC_PROTOCOLS)[number];

/** Flow k sends from port FLOW_BASE_PORT + k, so flows are told apart by their 5-tuple as a switch sees them. */
export const FLOW_BASE_PORT = 10_000;
export const MAX_FLOWS = 65_535 - FLOW_BASE_PORT + 1;
/** The destination port of every generated frame: discard (RFC 863). */
export const TRAFFIC_DST_PORT = 9;
/** One run moves at most this many bytes and lasts at most this long, so a mistyped request cannot run for hours. */
export const MAX_RUN_BYTES = 1024 * 1024 * 1024;
export const RUN_TIME_LIMIT_MS = 120_000;
/** Sends kept queued on the vNIC at once, so the next batch is built while the previous one is on the wire. */
const SENDS_IN_FLIGHT = 4;
/** Flows listed in a report, the busiest first. */
const REPORTED_FLOWS = 100;

export interface TrafficPlan {
  to: string[];
  protocol: TrafficProtocol;
  count: number;
  size: number;
  ratePps?: number;
  batch: number;
  flows: number;
  zipf?: number;
  seed: number;
}

export interface GenerateReport {
  sent: number;
  durationMs: number;
  packetsPerSecond: number;
  /** Frames sent per flow id, the REPORTED_FLOWS busiest when there are more. */
  perFlow: Record<string, number>;
  /** How the Zipf mix came out: the share of the busiest flow, expected and observed. */
  zipf?: { exponent: number; seed: number; expectedTopShare: number; observedTopShare: number };
  /** Why the run ended before `count` frames: the time limit. */
  stopped?: string;
}

/** Sends frames on the vNIC; resolves once they are all in tx. */
export type FrameSender = (frames: Buffer[], options: { batch: number; signal: AbortSignal }) => Promise<void>;

/** Frame bytes before the payload's filler: Ethernet, IPv4, UDP or TCP, and the TLAB header. */
export function minimumFrameBytes(protocol: TrafficProtocol): number {
  const l4 = protocol === 'udp' ? HEADER_BYTES.udp : HEADER_BYTES.tcp;
  return HEADER_BYTES.ethernet + HEADER_BYTES.ipv4 + l4 + TLAB_HEADER_BYTES;
}

/** What went into one send, so frames that were never sent can give their sequence numbers back. */
interface SentBatch {
  destinations: string[];
  flows: Uint32Array;
  seqs: Uint32Array;
}

/**
 * Generates real frames from this VM to others: Ethernet from this VM's MAC to the destination's, IPv4 between
 * their addresses, UDP or TCP from port 10000 + flow, and a payload that starts with the TLAB header (who, which
 * flow, which sequence number, when) followed by filler. Flows are picked round robin, or with Zipf(s) probabilities
 * from a seeded PRNG; flow k always goes to destination k mod |to|, so each flow is one 5-tuple. Optionally paced to
 * `ratePps`; otherwise as fast as the vNIC takes frames.
 */
export class TrafficGenerator {
  constructor(
    private readonly vmId: string,
    private readonly sequences: FlowSequences,
    private readonly send: FrameSender,
    private readonly timeLimitMs = RUN_TIME_LIMIT_MS,
    private readonly clock: () => number = monotonicMicros32,
  ) {}

  /** Refuses a plan that cannot be built or is too large, naming each field. */
  static check(plan: TrafficPlan): void {
    const problems: string[] = [];
    const minimum = minimumFrameBytes(plan.protocol);
    if (plan.size < minimum) {
      problems.push(`size: ${plan.protocol} frames need at least ${minimum} bytes (headers and the TLAB header)`);
    }
    if (plan.count * plan.size > MAX_RUN_BYTES) {
      problems.push(`count × size: ${plan.count * plan.size} bytes is more than one run may send (${MAX_RUN_BYTES})`);
    }
    if (problems.length > 0) {
      throw new ValidationError(`traffic request is invalid: ${problems.join('; ')}`, problems);
    }
  }

  async run(plan: TrafficPlan): Promise<GenerateReport> {
    TrafficGenerator.check(plan);
    const srcMac = vmMacAddress(this.vmId);
    const srcIp = vmIpv4Address(this.vmId);
    const source = parseIpv4(srcIp);
    const destinations = plan.to.map((id) => ({ id, mac: vmMacAddress(id), ip: vmIpv4Address(id) }));
    const payloadBytes = plan.size - minimumFrameBytes(plan.protocol) + TLAB_HEADER_BYTES;
    const filler = Buffer.alloc(payloadBytes, 0x5a);
    const sampler = plan.zipf === undefined ? undefined : new ZipfSampler(plan.flows, plan.zipf, mulberry32(plan.seed));
    const perFlow = new Uint32Array(plan.flows);
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(), this.timeLimitMs);
    const inFlight: Promise<void>[] = [];
    let built = 0;
    let sent = 0;
    let failure: Error | undefined;

    /** Counts what a send got into tx; a failure other than the abort stops the run and is its answer. */
    const settle = (batch: SentBatch, error?: unknown): void => {
      if (error !== undefined && !(error instanceof SendAbortedError)) {
        failure ??= error instanceof Error ? error : new Error('the vNIC failed to send', { cause: error });
        limit.abort();
      }
      const done = error === undefined ? batch.flows.length : error instanceof SendAbortedError ? error.sent : 0;
      for (let i = 0; i < batch.flows.length; i++) {
        if (i < done) perFlow[batch.flows[i]] += 1;
        else this.sequences.giveBack(batch.destinations[i], batch.flows[i], batch.seqs[i]);
      }
      sent += done;
    };

    const started = performance.now();
    try {
      while (built < plan.count && !limit.signal.aborted) {
        if (plan.ratePps !== undefined) {
          await sleepUntil(started + (built / plan.ratePps) * 1000, limit.signal);
          if (limit.signal.aborted) break;
        }
        const n = Math.min(plan.batch, plan.count - built);
        const batch: SentBatch = {
          destinations: new Array<string>(n),
          flows: new Uint32Array(n),
          seqs: new Uint32Array(n),
        };
        const frames = new Array<Buffer>(n);
        const sentUs = this.clock();
        for (let i = 0; i < n; i++) {
          const flow = sampler ? sampler.next() - 1 : (built + i) % plan.flows;
          const destination = destinations[flow % destinations.length];
          const seq = this.sequences.take(destination.id, flow);
          const payload = Buffer.allocUnsafe(payloadBytes);
          filler.copy(payload, TLAB_HEADER_BYTES, TLAB_HEADER_BYTES);
          writeTlabHeader(payload, 0, { source, flow, seq, sentUs });
          const ports = { srcPort: FLOW_BASE_PORT + flow, dstPort: TRAFFIC_DST_PORT };
          frames[i] = buildFrame({
            dstMac: destination.mac,
            srcMac,
            ipv4: { src: srcIp, dst: destination.ip },
            ...(plan.protocol === 'udp' ? { udp: ports } : { tcp: { ...ports, seq } }),
            payload,
          });
          batch.destinations[i] = destination.id;
          batch.flows[i] = flow;
          batch.seqs[i] = seq;
        }
        built += n;
        // The executor turns a send that throws at once (no credentials yet) into a rejection like any other; and
        // the chain never rejects: settle records a failure, which ends the loop.
        const sending = new Promise<void>((resolve, reject) => {
          this.send(frames, { batch: plan.batch, signal: limit.signal }).then(resolve, reject);
        });
        inFlight.push(
          sending.then(
            () => settle(batch),
            (error: unknown) => settle(batch, error),
          ),
        );
        if (inFlight.length >= SENDS_IN_FLIGHT) await inFlight.shift();
      }
      await Promise.all(inFlight);
    } finally {
      clearTimeout(timer);
    }
    if (failure !== undefined) throw failure;
    const seconds = (performance.now() - started) / 1000;
    return {
      sent,
      durationMs: Math.round(seconds * 1000),
      packetsPerSecond: seconds > 0 ? Math.round(sent / seconds) : 0,
      perFlow: busiest(perFlow),
      ...(sampler && plan.zipf !== undefined
        ? {
            zipf: {
              exponent: plan.zipf,
              seed: plan.seed,
              expectedTopShare: round4(sampler.probability(1)),
              observedTopShare: round4(sent > 0 ? perFlow[0] / sent : 0),
            },
          }
        : {}),
      ...(sent < plan.count ? { stopped: `time limit: a run stops after ${this.timeLimitMs / 1000} s` } : {}),
    };
  }
}

function busiest(perFlow: Uint32Array): Record<string, number> {
  const flows = [...perFlow.keys()].filter((flow) => perFlow[flow] > 0);
  flows.sort((a, b) => perFlow[b] - perFlow[a] || a - b);
  return Object.fromEntries(flows.slice(0, REPORTED_FLOWS).map((flow) => [String(flow), perFlow[flow]]));
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
