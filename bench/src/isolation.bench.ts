import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  atVmPriority,
  inTenantCpuGroup,
  prepareTenantCpuGroups,
  seedVmRegistry,
  type TenantCpuGroups,
  VM_CPU_SHARES,
  VM_NICE,
  startTestRedis,
  type TestRedis,
  testAdminHeaders,
} from '@tenantlab/lab';
import { attackerRedisBytesMax, attackerTenantRedisBytesMax, PORT_KEYS, requestJson } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { alternatingRounds, median, orderOfRound } from './bench-rounds';
import { publishReport } from './bench-report';
import { processCpuSeconds } from './process-cpu';
import { type RunningSwitch, withSwitch } from './bench-switch';
import type { StormReport } from './isolation-storm';
import { type Stages, VICTIM_FROM, VICTIM_RATE, VICTIM_TO, type VictimRun } from './isolation-victim';

export type { VictimRun } from './isolation-victim';

const STORM_VMS = Array.from({ length: 16 }, (_, i) => `storm-${i}`);
const MEASURE_SECONDS = 3;
const WARMUP_SECONDS = 1;
/** How long the storm runs before the victim's measurement starts, so the switch is already under it. */
const STORM_RAMP_MS = 1000;
const ROUNDS = 4;
const MODES = ['alone', 'storm'] as const;
export type Mode = (typeof MODES)[number];

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
  // Each tenant's VM processes in its tenant's CPU group, as `lab up` puts a local lab's VMs (tenant-cpu-groups.ts):
  // the lab's group weighs what its 18 VMs would as processes, each tenant an equal share of it.
  const prepared = prepareTenantCpuGroups(
    `bench-isolation-${process.pid}`,
    new Map([
      ['victim', 2],
      ['storm', STORM_VMS.length],
    ]),
  );
  const cpuGroups = 'unavailable' in prepared ? undefined : prepared;
  const cpuGroupsText =
    'unavailable' in prepared
      ? `not in tenant CPU groups (${prepared.unavailable}): weighed per process, as a lab without them`
      : `each tenant's process in its tenant's CPU group as \`lab up\` makes them (${prepared.dir}: the lab's group ` +
        `at ${VM_CPU_SHARES} shares per VM, 18 VMs; each tenant's group at equal shares)`;
  console.log(`==> VM processes ${cpuGroupsText}`);
  try {
    const tenants: Record<string, string> = { [VICTIM_FROM]: 'victim', [VICTIM_TO]: 'victim' };
    for (const vm of STORM_VMS) tenants[vm] = 'storm';
    await seedVmRegistry(admin, tenants);
    const victims: Record<Mode, VictimRun[]> = { alone: [], storm: [] };
    const storms: StormRun[] = [];
    console.log(`==> victim alone vs under a 16-VM broadcast storm, ${ROUNDS} alternating rounds`);
    await alternatingRounds(ROUNDS, MODES, async (mode, round) => {
      const { victim, storm } = await run(redis, admin, mode, cpuGroups);
      victims[mode].push(victim);
      if (storm) storms.push(storm);
      const stormText = storm
        ? `; storm wrote ${Math.round(storm.writtenPerSecond)} frames/s, ${storm.delivered} copies delivered, ` +
          `${storm.overBound} dropped over its bound, ${storm.stormControl} by storm control`
        : '';
      console.log(
        `    round ${round + 1} ${mode.padEnd(6)} victim ${Math.round(victim.fps)} frames/s, p50 ` +
          `${Math.round(victim.p50Us)} µs, p99 ${Math.round(victim.p99Us)} µs, lost ${victim.lost}${stormText}; ` +
          `median ms per stage: ${stagesText(victim.typical)}, of the slowest 1%: ${stagesText(victim.tail)}; ` +
          `cores used: ${coresText(victim)}`,
      );
      return victim.fps;
    });
    const runsOf = (mode: Mode): string =>
      victims[mode].map((r) => `${Math.round(r.fps)} f/s p99 ${Math.round(r.p99Us)} µs`).join('; ');
    await publishReport({
      name: 'isolation',
      setup: {
        victim:
          `tenant "victim", in a process of its own at the lab's VM priority (nice ${VM_NICE}, as the storm): ` +
          `${VICTIM_FROM} sends ${VICTIM_RATE} frames/s (106-byte unicast UDP, open loop: the due ` +
          `frames every millisecond, pipelined) to ${VICTIM_TO}, which reads its rx as a VM does (XREAD BLOCK, ` +
          `trimming what it read). Per run a ${WARMUP_SECONDS} s warm-up, then ${MEASURE_SECONDS} s measured: ` +
          `frames/s = frames delivered / (first send to last arrival, at most 5 s after the last send); latency = ` +
          `send stamp in the payload to arrival at the reader, per frame`,
        storm:
          `tenant "storm": ${STORM_VMS.length} VMs in a process of their own at the lab's VM priority (nice ` +
          `${VM_NICE}: below the switch and Redis, as the lab runs VMs), each broadcasting 106-byte frames ` +
          `straight to its tx stream (32 per pipelined round trip, as fast as Redis takes them, no vNIC cap) and ` +
          `emptying its rx in the same round trip; it starts ${STORM_RAMP_MS} ms before the victim's warm-up and ` +
          `stops after its measurement`,
        cpu_groups: `the VM processes: ${cpuGroupsText}`,
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
        attacker_tenant_redis_bytes_max:
          'the most Redis memory one tenant can hold with all its VMs (up to its default maxVms, 64) together ' +
          "(attackerTenantRedisBytesMax: its ports' streams at the switch's tenant budgets, rings at the tenant " +
          "quotas, an inbox per VM); the default lab's two tenants together stay under its maxmemory",
        victim_stages:
          "where the victim's frames spent their time, median ms per stage over all frames (stages as below): alone " +
          `${victims.alone.map((r) => stagesText(r.typical)).join('; ')}; under storm ` +
          `${victims.storm.map((r) => stagesText(r.typical)).join('; ')}`,
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
    cpuGroups?.remove();
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
      // The same for all of one tenant's VMs: the switch's tenant budgets and the tenant ring quotas keep its VM count
      // from multiplying it (e2e/src/packet-path/switch.e2e.spec.ts holds a 12-VM tenant's rx to its budget).
      attacker_tenant_redis_bytes_max: attackerTenantRedisBytesMax(),
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

/**
 * One run of `mode` on a fresh switch: the victim's figures, and the storm's when there is one. `groups`: the tenants'
 * CPU groups its VM processes run in, where the machine has them.
 */
async function run(
  redis: TestRedis,
  admin: Redis,
  mode: Mode,
  groups: TenantCpuGroups | undefined,
): Promise<{ victim: VictimRun; storm?: StormRun }> {
  await admin.del(...[VICTIM_FROM, VICTIM_TO, ...STORM_VMS].flatMap((vm) => [PORT_KEYS.tx(vm), PORT_KEYS.rx(vm)]));
  return withSwitch(redis, { ports: 2 + STORM_VMS.length, batch: 256 }, async (sw) => {
    const storm = mode === 'storm' ? await startStorm(redis, groups) : undefined;
    try {
      const countersBefore = await stormCounters(sw);
      if (storm) await new Promise((resolve) => setTimeout(resolve, STORM_RAMP_MS));
      await runVictim(redis, WARMUP_SECONDS, groups);
      const cpuBefore = await cpuSeconds(admin, sw.pid, storm?.pid);
      const victim = await runVictim(redis, MEASURE_SECONDS, groups);
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

/**
 * A process standing in for tenant VMs (the storm's, or the victim's), forked from `script` in this folder at the
 * priority the lab gives VMs (vm-priority.ts) and in its tenant's CPU group where there are groups, so that it competes
 * with the switch and Redis for the machine as the lab's VMs do; stdout as given, stderr inherited, and an IPC channel.
 */
function spawnVm(
  script: string,
  /** Its tenant's CPU group's `cgroup.procs`, where there are groups. */
  procs: string | undefined,
  env: Record<string, string>,
  stdout: 'ignore' | 'inherit',
): ChildProcess {
  let { command, args } = atVmPriority(process.execPath, [join(__dirname, script)]);
  if (procs !== undefined) ({ command, args } = inTenantCpuGroup(procs, command, args));
  return spawn(command, args, {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
  });
}

/** The victim's traffic for `seconds`, run by its own process (isolation-victim.ts); its figures when it is done. */
async function runVictim(redis: TestRedis, seconds: number, groups: TenantCpuGroups | undefined): Promise<VictimRun> {
  const child = spawnVm(
    'isolation-victim.js',
    groups?.procsFile('victim'),
    { REDIS_URL: redis.url, VICTIM_SECONDS: String(seconds) },
    'inherit',
  );
  return new Promise<VictimRun>((resolve, reject) => {
    let run: VictimRun | undefined;
    child.once('message', (message) => (run = message as VictimRun));
    child.once('error', reject);
    child.once('exit', (code) =>
      run ? resolve(run) : reject(new Error(`the victim's process exited with ${code} before it reported`)),
    );
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

function coresText(run: VictimRun): string {
  const cores = run.cores;
  return cores ? `Redis ${cores.redis}, switch ${cores.switch}, storm ${cores.storm}` : 'not measured';
}

async function startStorm(redis: TestRedis, groups: TenantCpuGroups | undefined): Promise<Storm> {
  const child = spawnVm(
    'isolation-storm.js',
    groups?.procsFile('storm'),
    { REDIS_URL: redis.url, STORM_VMS: STORM_VMS.join(',') },
    'ignore',
  );
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

function stagesText(stages: Stages): string {
  return `to tx ${stages.toTx}, switch ${stages.switch}, to reader ${stages.toReader}`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
