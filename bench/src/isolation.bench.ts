import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seedVmRegistry, startTestRedis, type TestRedis, testAdminHeaders } from '@tenantlab/lab';
import {
  attackerRedisBytesMax,
  buildFrame,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  portEntryContent,
  requestJson,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { alternatingRounds, median, orderOfRound } from './bench-rounds';
import { publishReport, quantile } from './bench-report';
import { type RunningSwitch, withSwitch } from './bench-switch';
import type { StormReport } from './isolation-storm';

const STORM_VMS = Array.from({ length: 16 }, (_, i) => `storm-${i}`);
const VICTIM_FROM = 'victim-1';
const VICTIM_TO = 'victim-2';
/** The victim's offered load: what it asks of the switch, well within a fair half of it. */
const VICTIM_RATE = 2000;
const MEASURE_SECONDS = 3;
const WARMUP_SECONDS = 1;
/** How long the storm runs before the victim's measurement starts, so the switch is already under it. */
const STORM_RAMP_MS = 1000;
const ROUNDS = 4;
const MODES = ['alone', 'storm'] as const;
export type Mode = (typeof MODES)[number];
/** Where a frame's send time sits in its payload (after Ethernet, IPv4 and UDP headers and a sequence number). */
const STAMP_AT = 14 + 20 + 8 + 4;

export interface VictimRun {
  /** Frames delivered per second, from the first send until the last frame arrived. */
  fps: number;
  p50Us: number;
  p99Us: number;
  lost: number;
  /** Where the slowest 1% of frames spent their time: the median of each stage over them (see `Stages`). */
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

export interface StormRun {
  written: number;
  /** How long the storm ran, from its process's start to its stop. */
  seconds: number;
  writtenPerSecond: number;
  /**
   * Over the run, from the switch's counters: what the storm tenant's VMs had delivered, dropped over their bound,
   * and dropped by storm control (floods over the tenant's budget of copies).
   */
  delivered: number;
  overBound: number;
  stormControl: number;
}

/**
 * Issue 10's fairness on the shared switch: a victim tenant (two VMs, one sending VICTIM_RATE frames/s of unicast to
 * the other) alone, and while another tenant runs a broadcast storm with 16 VMs writing straight to their tx streams;
 * a fresh switch process per run on one private Redis, the two modes in alternating rounds, medians.
 */
export async function runIsolationBenchmark(): Promise<void> {
  console.log('==> starting a private Redis');
  const redis = await startTestRedis();
  const admin = new Redis(redis.url);
  try {
    const tenants: Record<string, string> = { [VICTIM_FROM]: 'victim', [VICTIM_TO]: 'victim' };
    for (const vm of STORM_VMS) tenants[vm] = 'storm';
    await seedVmRegistry(admin, tenants);
    const victims: Record<Mode, VictimRun[]> = { alone: [], storm: [] };
    const storms: StormRun[] = [];
    console.log(`==> victim alone vs under a 16-VM broadcast storm, ${ROUNDS} alternating rounds`);
    await alternatingRounds(ROUNDS, MODES, async (mode, round) => {
      const { victim, storm } = await run(redis, admin, mode);
      victims[mode].push(victim);
      if (storm) storms.push(storm);
      const stormText = storm
        ? `; storm wrote ${Math.round(storm.writtenPerSecond)} frames/s, ${storm.delivered} copies delivered, ` +
          `${storm.overBound} dropped over its bound, ${storm.stormControl} by storm control`
        : '';
      console.log(
        `    round ${round + 1} ${mode.padEnd(6)} victim ${Math.round(victim.fps)} frames/s, p50 ` +
          `${Math.round(victim.p50Us)} µs, p99 ${Math.round(victim.p99Us)} µs, lost ${victim.lost}${stormText}; ` +
          `slowest 1% (median ms): ${stagesText(victim.tail)}; cores used: ${coresText(victim)}`,
      );
      return victim.fps;
    });
    const runsOf = (mode: Mode): string =>
      victims[mode].map((r) => `${Math.round(r.fps)} f/s p99 ${Math.round(r.p99Us)} µs`).join('; ');
    await publishReport({
      name: 'isolation',
      setup: {
        victim:
          `tenant "victim": ${VICTIM_FROM} sends ${VICTIM_RATE} frames/s (106-byte unicast UDP, open loop: the due ` +
          `frames every millisecond, pipelined) to ${VICTIM_TO}, which reads its rx as a VM does (XREAD BLOCK, ` +
          `trimming what it read). Per run a ${WARMUP_SECONDS} s warm-up, then ${MEASURE_SECONDS} s measured: ` +
          `frames/s = frames delivered / (first send to last arrival, at most 5 s after the last send); latency = ` +
          `send stamp in the payload to arrival at the reader, per frame`,
        storm:
          `tenant "storm": ${STORM_VMS.length} VMs in a process of their own, each broadcasting 106-byte frames ` +
          `straight to its tx stream (32 per pipelined round trip, as fast as Redis takes them, no vNIC cap) and ` +
          `emptying its rx in the same round trip; it starts ${STORM_RAMP_MS} ms before the victim's warm-up and ` +
          `stops after its measurement`,
        switch:
          'a fresh switch process (services/switch/dist/main.js, defaults: SWITCH_BATCH 256, SWITCH_TENANT_QUANTUM ' +
          '256) per run, on one private Redis; Kafka absent, traces off',
        rounds:
          `${ROUNDS} rounds, order ${orderOfRound(MODES, 0).join(',')} then reversed, alternating; each figure is ` +
          `the median of its ${ROUNDS} runs. Runs alone: ${runsOf('alone')}. Runs under storm: ${runsOf('storm')}`,
        attacker_redis_bytes_max:
          "the most Redis memory one VM can hold with everything its ACL allows, at the operator's default quotas " +
          '(attackerRedisBytesMax: tx and rx at the switch bound, inbox at its cap, rings at the circuit quotas); ' +
          "under the lab's maxmemory (3gb, sized for the default lab's four VMs: docs/redis-rights.md)",
        victim_tail:
          "where the slowest 1% of the victim's frames spent their time, median ms per stage (send stamp to tx " +
          "entry id, tx to rx entry id, rx entry id to arrival; entry ids are Redis's clock in ms): alone " +
          `${victims.alone.map((r) => stagesText(r.tail)).join('; ')}; under storm ` +
          `${victims.storm.map((r) => stagesText(r.tail)).join('; ')}`,
        cores_used:
          'cores each process used over the measured seconds (Redis from INFO cpu, the switch and the storm from ' +
          `/proc/<pid>/stat; the machine has 2, shared): alone ${victims.alone.map(coresText).join('; ')}; under ` +
          `storm ${victims.storm.map(coresText).join('; ')}`,
        storm_load:
          `storm frames written/s per run: ${storms.map((s) => Math.round(s.writtenPerSecond)).join(', ')}; copies ` +
          `delivered to storm VMs: ${storms.map((s) => s.delivered).join(', ')}; dropped over the tx bound: ` +
          `${storms.map((s) => s.overBound).join(', ')}; dropped by storm control (the switch's default ` +
          `SWITCH_FLOOD_COPIES_PER_SECOND): ${storms.map((s) => s.stormControl).join(', ')}`,
      },
      ...isolationFigures(victims, storms),
    });
  } finally {
    admin.disconnect();
    await redis.stop();
  }
}

/**
 * The report's figures from the runs: medians of the victim's runs alone (baseline) and under the storm (metrics),
 * their ratios with the goals the README states, and the derived bound on what one VM can hold in Redis.
 */
export function isolationFigures(victims: Record<Mode, VictimRun[]>, storms: StormRun[]) {
  const med = (mode: Mode, pick: (r: VictimRun) => number): number => median(victims[mode].map(pick));
  const fps = { alone: med('alone', (r) => r.fps), storm: med('storm', (r) => r.fps) };
  const p99 = { alone: med('alone', (r) => r.p99Us), storm: med('storm', (r) => r.p99Us) };
  const p50 = { alone: med('alone', (r) => r.p50Us), storm: med('storm', (r) => r.p50Us) };
  return {
    goals: {
      victim_throughput_under_storm: { atLeast: 0.8 },
      victim_p99_under_storm: { atMost: 2.0 },
    },
    metrics: {
      victim_fps_under_storm: Math.round(fps.storm),
      victim_p50_us_under_storm: Math.round(p50.storm),
      victim_p99_us_under_storm: Math.round(p99.storm),
      storm_frames_written_per_s: Math.round(median(storms.map((s) => s.writtenPerSecond))),
      // What storm control spared the switch: the storm's floods dropped before fan-out, per second of storm.
      storm_control_drops_per_s: Math.round(median(storms.map((s) => s.stormControl / s.seconds))),
      storm_copies_delivered_per_s: Math.round(median(storms.map((s) => s.delivered / s.seconds))),
      // Derived, not timed: the formula is in libs/shared/src/redis/attacker-redis-bytes.ts and docs/redis-rights.md,
      // and e2e/src/isolation/attacker-redis-bytes.int.spec.ts fills what one VM may fill and stays under it.
      attacker_redis_bytes_max: attackerRedisBytesMax(),
    },
    baseline: {
      victim_fps_alone: Math.round(fps.alone),
      victim_p50_us_alone: Math.round(p50.alone),
      victim_p99_us_alone: Math.round(p99.alone),
    },
    ratios: {
      victim_throughput_under_storm: round(fps.storm / fps.alone),
      victim_p99_under_storm: round(p99.storm / p99.alone),
    },
  };
}

/** One run of `mode` on a fresh switch: the victim's figures, and the storm's when there is one. */
async function run(redis: TestRedis, admin: Redis, mode: Mode): Promise<{ victim: VictimRun; storm?: StormRun }> {
  await admin.del(...[VICTIM_FROM, VICTIM_TO, ...STORM_VMS].flatMap((vm) => [PORT_KEYS.tx(vm), PORT_KEYS.rx(vm)]));
  return withSwitch(redis, { ports: 2 + STORM_VMS.length, batch: 256 }, async (sw) => {
    const storm = mode === 'storm' ? await startStorm(redis) : undefined;
    try {
      const countersBefore = await stormCounters(sw);
      if (storm) await new Promise((resolve) => setTimeout(resolve, STORM_RAMP_MS));
      await victimTraffic(admin, WARMUP_SECONDS);
      const cpuBefore = await cpuSeconds(admin, sw.pid, storm?.pid);
      const victim = await victimTraffic(admin, MEASURE_SECONDS);
      const cpuAfter = await cpuSeconds(admin, sw.pid, storm?.pid);
      const wall = cpuAfter.at - cpuBefore.at;
      victim.cores = {
        redis: round((cpuAfter.redis - cpuBefore.redis) / wall),
        switch: round((cpuAfter.switch - cpuBefore.switch) / wall),
        storm: round((cpuAfter.storm - cpuBefore.storm) / wall),
      };
      if (!storm) return { victim };
      const report = await storm.stop();
      const countersAfter = await stormCounters(sw);
      return {
        victim,
        storm: {
          written: report.written,
          writtenPerSecond: report.written / report.seconds,
          delivered: countersAfter.delivered - countersBefore.delivered,
          overBound: countersAfter.overBound - countersBefore.overBound,
          stormControl: countersAfter.stormControl - countersBefore.stormControl,
          seconds: report.seconds,
        },
      };
    } finally {
      await storm?.stop();
    }
  });
}

interface Storm {
  pid: number | undefined;
  stop(): Promise<StormReport>;
}

/** CPU seconds Redis, the switch and the storm process have used so far, and when (s). */
async function cpuSeconds(
  admin: Redis,
  switchPid: number,
  stormPid: number | undefined,
): Promise<{ at: number; redis: number; switch: number; storm: number }> {
  const info = await admin.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return {
    at: performance.now() / 1000,
    redis: field('used_cpu_user') + field('used_cpu_sys'),
    switch: processCpuSeconds(switchPid),
    storm: stormPid === undefined ? 0 : processCpuSeconds(stormPid),
  };
}

/** User and system CPU seconds of a process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s). */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function coresText(run: VictimRun): string {
  const cores = run.cores;
  return cores ? `Redis ${cores.redis}, switch ${cores.switch}, storm ${cores.storm}` : 'not measured';
}

async function startStorm(redis: TestRedis): Promise<Storm> {
  const child: ChildProcess = fork(join(__dirname, 'isolation-storm.js'), [], {
    env: { PATH: process.env['PATH'] ?? '', REDIS_URL: redis.url, STORM_VMS: STORM_VMS.join(',') },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the storm process exited with ${code} before it started`)));
  });
  let stopping: Promise<StormReport> | undefined;
  return {
    pid: child.pid,
    stop: () =>
      (stopping ??= (async () => {
        const report = new Promise<StormReport>((resolve) =>
          child.on('message', (message) => {
            if (typeof message === 'object') resolve(message as StormReport);
          }),
        );
        child.send('stop');
        const result = await Promise.race([report, exited.then(() => ({ written: 0, seconds: 1 }))]);
        await exited;
        return result;
      })()),
  };
}

/** The storm tenant's copies delivered, entries dropped over its bound and floods suppressed, from the switch. */
async function stormCounters(
  sw: RunningSwitch,
): Promise<{ delivered: number; overBound: number; stormControl: number }> {
  type Counters = { txFrames: number; drops: Record<string, number | undefined> };
  const reply = await requestJson<{ counters: { tenants: Record<string, Counters | undefined> } }>(
    'GET',
    `${sw.url}/dataplane`,
    undefined,
    10_000,
    testAdminHeaders(),
  );
  const storm = reply.body.counters.tenants['storm'];
  return {
    delivered: storm?.txFrames ?? 0,
    overBound: storm?.drops['tx-over-bound'] ?? 0,
    stormControl: storm?.drops['storm-control'] ?? 0,
  };
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

/** The median of each stage over the slowest 1% of the frames that arrived (an arrival of 0: never arrived). */
function slowestStages(stamps: Float64Array, txMs: Float64Array, rxMs: Float64Array, arrivals: Float64Array): Stages {
  const arrived = [...arrivals.keys()].filter((seq) => arrivals[seq] > 0);
  if (arrived.length === 0) return { toTx: NaN, switch: NaN, toReader: NaN };
  const slowest = arrived
    .sort((a, b) => arrivals[b] - stamps[b] - (arrivals[a] - stamps[a]))
    .slice(0, Math.max(1, Math.ceil(arrived.length / 100)));
  const stage = (of: (seq: number) => number): number => round(median(slowest.map(of)));
  return {
    toTx: stage((seq) => txMs[seq] - stamps[seq]),
    switch: stage((seq) => rxMs[seq] - txMs[seq]),
    toReader: stage((seq) => arrivals[seq] - rxMs[seq]),
  };
}

function stagesText(stages: Stages): string {
  return `to tx ${stages.toTx}, switch ${stages.switch}, to reader ${stages.toReader}`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
