import { performance } from 'node:perf_hooks';
import {
  buildFrame,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  portEntryContent,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { median } from './bench-rounds';
import { quantile } from './bench-report';
import type { Stages, VictimRun } from './isolation.bench';

export const VICTIM_FROM = 'victim-1';
export const VICTIM_TO = 'victim-2';
/** The victim's offered load: what it asks of the switch, well within a fair half of it. */
export const VICTIM_RATE = 2000;
/** Where a frame's send time sits in its payload (after Ethernet, IPv4 and UDP headers and a sequence number). */
const STAMP_AT = 14 + 20 + 8 + 4;

/** What the benchmark asks of the victim process: traffic for `seconds`, answered with a VictimRun. */
export interface VictimRequest {
  seconds: number;
}

/**
 * The victim tenant of the isolation benchmark, in a process of its own, as the storm is: each stands in for a
 * tenant's VMs, so both run at a tenant VM's CPU priority (the lab's vmNice) while the switch and Redis run as the
 * lab's services do. Answers each VictimRequest on the IPC channel with its VictimRun; exits when the channel closes.
 */
async function serve(): Promise<void> {
  const admin = new Redis(process.env['REDIS_URL'] ?? '', { connectionName: 'victim' });
  await admin.ping();
  process.on('message', (message: VictimRequest) => {
    victimTraffic(admin, message.seconds).then(
      (run) => process.send?.(run),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
  process.once('disconnect', () => {
    admin.disconnect();
    process.exit(0);
  });
  process.send?.('ready');
}

/**
 * The victim's traffic for `seconds`: VICTIM_RATE frames/s from VICTIM_FROM, read at VICTIM_TO, each frame's
 * latency taken from the send time stamped in it.
 */
async function victimTraffic(admin: Redis, seconds: number): Promise<VictimRun> {
  const sender = admin.duplicate();
  const reader = admin.duplicate();
  const total = Math.round(VICTIM_RATE * seconds);
  const latencies: number[] = [];
  /** Per sequence number: when Redis took the frame into tx, and into rx, in ms (from the entry ids). */
  const txMs = new Float64Array(total);
  const rxMs = new Float64Array(total);
  const stamps = new Float64Array(total);
  const arrivals = new Float64Array(total);
  let lastArrival = 0;
  let sendingDone = false;
  try {
    const marker = (await reader.xadd(PORT_KEYS.rx(VICTIM_TO), '*', 'marker', '1')) ?? '0-0';
    const started = performance.timeOrigin + performance.now();
    const receiving = (async () => {
      let lastId = marker;
      let quietSince = 0;
      while (latencies.length < total) {
        const pipeline = reader.pipeline();
        pipeline.xtrim(PORT_KEYS.rx(VICTIM_TO), 'MINID', lastId);
        pipeline.xreadBuffer('COUNT', 1000, 'BLOCK', 100, 'STREAMS', PORT_KEYS.rx(VICTIM_TO), lastId);
        const results = (await pipeline.exec()) ?? [];
        const reply = results[1]?.[1] as [Buffer, [Buffer, Buffer[]][]][] | null;
        const now = performance.timeOrigin + performance.now();
        if (!reply) {
          if (!sendingDone) continue;
          quietSince ||= now;
          if (now - quietSince > 5000) break; // what has not come 5 s after the last send is lost
          continue;
        }
        quietSince = 0;
        for (const [id, fields] of reply[0][1]) {
          lastId = id.toString();
          // The switch packs the frames of one batch for one destination into one rx entry.
          for (const { frame } of portEntryContent(fields).frames) {
            // An earlier run's straggler (sent before this one started) is not this run's.
            if (frame.length < STAMP_AT + 8 || frame.readDoubleBE(STAMP_AT) < started) continue;
            latencies.push((now - frame.readDoubleBE(STAMP_AT)) * 1000);
            lastArrival = now;
            const seq = frame.readUInt32BE(STAMP_AT - 4);
            if (seq < total) {
              stamps[seq] = frame.readDoubleBE(STAMP_AT);
              rxMs[seq] = entryMs(lastId);
              arrivals[seq] = now;
            }
          }
        }
      }
    })();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(
        total,
        Math.floor(((performance.timeOrigin + performance.now() - started) / 1000) * VICTIM_RATE) + 1,
      );
      if (due > sent) {
        const pipeline = sender.pipeline();
        const first = sent;
        for (; sent < due; sent++) {
          pipeline.xadd(PORT_KEYS.tx(VICTIM_FROM), '*', PORT_ENTRY_FIELDS.frame, victimFrame(sent));
        }
        const ids = (await pipeline.exec()) ?? [];
        ids.forEach(([, id], i) => (txMs[first + i] = typeof id === 'string' ? entryMs(id) : NaN));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    sendingDone = true;
    await receiving;
    const elapsed = Math.max(lastArrival - started, (total / VICTIM_RATE) * 1000);
    return {
      fps: latencies.length / (elapsed / 1000),
      p50Us: latencies.length > 0 ? quantile(latencies, 0.5) : NaN,
      p99Us: latencies.length > 0 ? quantile(latencies, 0.99) : NaN,
      lost: total - latencies.length,
      tail: slowestStages(stamps, txMs, rxMs, arrivals),
      pathP99Ms: pathP99(txMs, rxMs, arrivals),
    };
  } finally {
    sender.disconnect();
    reader.disconnect();
  }
}

function victimFrame(seq: number): Buffer {
  const payload = Buffer.alloc(64);
  payload.writeUInt32BE(seq, 0);
  payload.writeDoubleBE(performance.timeOrigin + performance.now(), 4);
  return buildFrame({
    srcMac: vmMacAddress(VICTIM_FROM),
    dstMac: vmMacAddress(VICTIM_TO),
    ipv4: { src: vmIpv4Address(VICTIM_FROM), dst: vmIpv4Address(VICTIM_TO) },
    udp: { srcPort: 4000, dstPort: 4001 },
    payload,
  });
}

/** The ms part of a stream entry id: when Redis added the entry, by its clock. */
function entryMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/**
 * The 99th percentile over the frames that arrived of their time from tx entry to rx entry (Redis's clock, whole ms):
 * the switch's part of their latency, which the victim's own process (its sender's and reader's scheduling) is not in.
 */
function pathP99(txMs: Float64Array, rxMs: Float64Array, arrivals: Float64Array): number {
  const path: number[] = [];
  arrivals.forEach((arrival, seq) => {
    if (arrival > 0 && txMs[seq] > 0) path.push(rxMs[seq] - txMs[seq]);
  });
  return path.length > 0 ? quantile(path, 0.99) : NaN;
}

/** The median of each stage over the slowest 1% of the frames that arrived (an arrival of 0: never arrived). */
function slowestStages(stamps: Float64Array, txMs: Float64Array, rxMs: Float64Array, arrivals: Float64Array): Stages {
  const arrived = [...arrivals.keys()].filter((seq) => arrivals[seq] > 0);
  if (arrived.length === 0) return { toTx: NaN, switch: NaN, toReader: NaN };
  const slowest = arrived
    .sort((a, b) => arrivals[b] - stamps[b] - (arrivals[a] - stamps[a]))
    .slice(0, Math.max(1, Math.ceil(arrived.length / 100)));
  const stage = (of: (seq: number) => number): number => Math.round(median(slowest.map(of)) * 1000) / 1000;
  return {
    toTx: stage((seq) => txMs[seq] - stamps[seq]),
    switch: stage((seq) => rxMs[seq] - txMs[seq]),
    toReader: stage((seq) => arrivals[seq] - rxMs[seq]),
  };
}

if (require.main === module) {
  serve().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
