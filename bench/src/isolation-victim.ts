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
import { quantile } from './bench-report';
import { median } from './bench-rounds';

export const VICTIM_FROM = 'victim-1';
export const VICTIM_TO = 'victim-2';
/** The victim's offered load: what it asks of the switch, well within a fair half of it. */
export const VICTIM_RATE = 2000;
/** Where a frame's send time sits in its payload (after Ethernet, IPv4 and UDP headers and a sequence number). */
const STAMP_AT = 14 + 20 + 8 + 4;

export interface VictimRun {
  /** Frames delivered per second, from the first send until the last frame arrived. */
  fps: number;
  p50Us: number;
  p99Us: number;
  lost: number;
  /** Where a frame spent its time: the median of each stage over all frames (see `Stages`). */
  typical: Stages;
  /** Where the slowest 1% of frames spent their time: the median of each stage over them. */
  tail: Stages;
  /** Cores each process used over the measured seconds (1 = one core busy throughout); no storm: 0. */
  cores?: { redis: number; switch: number; storm: number };
}

/**
 * A frame's path in stages, in ms, from four instants: its send stamp (taken as the sender queues its XADD), the
 * time Redis gave its tx entry id, the time Redis gave its rx entry id (the switch's commit), and its arrival at the
 * reader. Entry ids are Redis's clock in whole ms, so each stage is good to about 1 ms.
 */
export interface Stages {
  /** Send stamp to tx entry: the sender's pipeline waiting for Redis. */
  toTx: number;
  /** Tx entry to rx entry: waiting for the switch's read, the switch's work, its commit. */
  switch: number;
  /** Rx entry to arrival: the reader's XREAD waking and answering. */
  toReader: number;
}

/**
 * The victim's traffic for `seconds`: VICTIM_RATE frames/s from VICTIM_FROM, read at VICTIM_TO, each frame's
 * latency taken from the send time stamped in it.
 */
async function victimTraffic(redisUrl: string, seconds: number): Promise<VictimRun> {
  const sender = new Redis(redisUrl, { connectionName: `victim:${VICTIM_FROM}` });
  const reader = new Redis(redisUrl, { connectionName: `victim:${VICTIM_TO}` });
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
      typical: stagesOf('all', stamps, txMs, rxMs, arrivals),
      tail: stagesOf('slowest', stamps, txMs, rxMs, arrivals),
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

/** The median of each stage over the frames that arrived (an arrival of 0: never arrived), all or the slowest 1%. */
function stagesOf(
  which: 'all' | 'slowest',
  stamps: Float64Array,
  txMs: Float64Array,
  rxMs: Float64Array,
  arrivals: Float64Array,
): Stages {
  const arrived = [...arrivals.keys()].filter((seq) => arrivals[seq] > 0);
  if (arrived.length === 0) return { toTx: NaN, switch: NaN, toReader: NaN };
  const frames =
    which === 'all'
      ? arrived
      : arrived
          .sort((a, b) => arrivals[b] - stamps[b] - (arrivals[a] - stamps[a]))
          .slice(0, Math.max(1, Math.ceil(arrived.length / 100)));
  const stage = (of: (seq: number) => number): number => round(median(frames.map(of)));
  return {
    toTx: stage((seq) => txMs[seq] - stamps[seq]),
    switch: stage((seq) => rxMs[seq] - txMs[seq]),
    toReader: stage((seq) => arrivals[seq] - rxMs[seq]),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The victim tenant's two VMs of the isolation benchmark, in a process of their own (forked by it, at the priority
 * the lab gives VMs), so that they compete for the machine as the storm's VMs do: runs VICTIM_SECONDS of traffic on
 * REDIS_URL, sends its VictimRun and exits.
 */
if (require.main === module) {
  victimTraffic(process.env['REDIS_URL'] ?? '', Number(process.env['VICTIM_SECONDS'])).then(
    (run) => process.send?.(run, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
