import { execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seedVmRegistry, startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  buildFrame,
  FrameView,
  type LinkedPipeline,
  type PageTable,
  parseFrame,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  DEFAULT_TENANT_QUOTA,
  REDIS_KEYS,
  requestJson,
  validateProgram,
  type ValidProgram,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import {
  type CompiledProgram,
  compileProgram,
  crc32,
  type IngressFrame,
  PacketContext,
  ProgramCodeCache,
  type ProgramHooks,
  RegisterMemory,
  SwitchPipeline,
  type SwitchPort,
} from '@tenantlab/switch';
import { Redis } from 'ioredis';
import { portTransferRate, type RunningSwitch, withSwitch } from './bench-switch';
import { publishReport } from './bench-report';

const REPO_ROOT = join(__dirname, '..', '..');
const MIDDLEBOX_ROLE = '--middlebox';

// (a) merging overhead
const MERGE_TENANTS = 10;
const MERGE_FLOWS = 2048; // two frames per flow (request and reply): 4096 frames
const MERGE_ROUNDS = 9;
const MERGE_ROUND_SECONDS = 0.25; // 9 x 0.25 s per configuration, interleaved

// (b) in-switch firewall vs middlebox VM
const E2E_FRAMES = 30_000;
const E2E_WARMUP_FRAMES = 2_000;
/** Rounds of the two paths, alternating: CPU time is read in 10 ms clock ticks and the machine's speed drifts. */
const E2E_ROUNDS = 3;
const E2E_BATCH = 32;
const E2E_FLOWS = 64;
const FRAME_PAYLOAD = 64;

// (c) fairness
const FAIR_TENANTS = 4;
const FAIR_CPU = { nsPerSecond: 2e8, burstNs: 2e6 };
const FAIR_SECONDS = 2.5;
const FAIR_ROUND_MS = 1;
const GREEDY_FACTOR = 10;
/** Each light tenant offers this share of its equal share of the budget (in program time), so fair = its demand. */
const LIGHT_DEMAND_OF_SHARE = 0.6;

/** Every program here must fit the allocator's default per-tenant quota. */
const QUOTA = DEFAULT_TENANT_QUOTA;

const NO_HOOKS: ProgramHooks = { mirror: () => undefined, report: () => undefined };

/**
 * Tenant programs on the switch (seeds 000, 002): (a) the cost of running 10 tenants' program instances vs one
 * program for the same traffic (Click merging, ~10% in seed 002); (b) a stateful firewall run in the switch vs the
 * same firewall in a middlebox VM the traffic detours through (Oko, seed 000: about half the cost); (c) CPU
 * fairness between tenant programs when one tenant is greedy (token buckets, seeds 000 and 002).
 */
export async function runProgramsBenchmark(): Promise<void> {
  console.log('==> (a) merging: 1 tenant program vs 10 tenant programs, same traffic, in-process');
  const merge = mergingOverhead();

  console.log('==> (c) fairness: 4 tenants, one greedy with a heavy program, CPU budget on');
  const fair = fairness();

  console.log('==> starting a private Redis');
  const redis = await startTestRedis();
  const admin = new Redis(redis.url);
  try {
    await seedVmRegistry(admin, { 'bench-a1': 'bench', 'bench-a2': 'bench', 'bench-mb': 'bench' });
    const middleboxRuns: PathResult[] = [];
    const inSwitchRuns: PathResult[] = [];
    for (let round = 1; round <= E2E_ROUNDS; round++) {
      console.log(
        `==> (b) round ${round}/${E2E_ROUNDS}: middlebox VM, bench-a1 -> switch -> bench-mb -> switch -> bench-a2`,
      );
      middleboxRuns.push(
        await withSwitch(redis, { ports: 3, batch: E2E_BATCH }, (sw) => middleboxPath(redis, admin, sw)),
      );
      console.log(`==> (b) round ${round}/${E2E_ROUNDS}: in-switch firewall, bench-a1 -> switch (program) -> bench-a2`);
      inSwitchRuns.push(
        await withSwitch(redis, { ports: 3, batch: E2E_BATCH }, (sw) => inSwitchPath(redis, admin, sw)),
      );
    }
    const middlebox = meanOf(middleboxRuns);
    const inSwitch = meanOf(inSwitchRuns);
    const roundRatios = inSwitchRuns.map(
      (run, i) => (run.switchNsPerFrame + run.middleboxNsPerFrame) / pathCost(middleboxRuns[i]),
    );

    const middleboxCost = pathCost(middlebox);
    await publishReport({
      name: 'programs',
      goals: {
        // Issue 5 (seeds 000, 002): merging 10 programs costs at most 10% more per packet, the in-switch firewall at
        // most half the middlebox detour, and with a greedy tenant the others keep 90% of their fair share.
        ten_vs_one_tenant_cost: { atMost: 1.1 },
        in_switch_vs_middlebox_cost: { atMost: 0.5 },
        greedy_min_fair_share: { atLeast: 0.9 },
        jain_index: { atLeast: 0.95 },
      },
      setup: {
        merging:
          `in-process SwitchPipeline, flow cache on, no CPU budget; ${MERGE_FLOWS * 2} frames (${MERGE_FLOWS} UDP ` +
          `flows, request + reply, 64-1400 B) between 20 VMs; the same frames with all 20 VMs in 1 tenant running ` +
          `stateful-firewall.json once vs 10 tenants of 2 VMs each running their own validated instance (own page ` +
          `table: flows = 4096 consecutive cells per tenant in stage 0, own zone entry, own counters); as in the ` +
          `switch, the 10 instances share the compiled code of the one document (ProgramCodeCache) and the system ` +
          `stage dispatches on VLAN id; "unshared code" compiles each instance apart, as 10 different documents ` +
          `would be; ns/packet is the median of ${MERGE_ROUNDS} interleaved ${MERGE_ROUND_SECONDS} s runs per ` +
          `configuration`,
        e2e:
          `${E2E_ROUNDS} alternating rounds of each path (figures are their means), each with a fresh real switch ` +
          `process (SWITCH_BATCH ${E2E_BATCH}, Kafka unreachable) on a private Redis; ${E2E_FRAMES} ` +
          `frames of ${FRAME_PAYLOAD + 42} B over ${E2E_FLOWS} UDP flows bench-a1 -> bench-a2, pipelined ` +
          `${E2E_BATCH} per round trip, after ${E2E_WARMUP_FRAMES} warm-up frames; in-switch: stateful-firewall.json ` +
          `linked as pipeline version 1 with a zone entry marking bench-a1 inside; middlebox: no program, frames ` +
          `addressed to bench-mb, a separate Node process (the VM) that reads its rx in batches of up to 512, runs ` +
          `the same firewall in TypeScript (CRC32 of the 5-tuple into 4096 marks, return traffic allowed), rewrites ` +
          `the MACs and XADDs to its tx`,
        e2e_cost:
          'CPU ns per delivered frame: switch = utime+stime of the switch process (/proc/<pid>/stat) over the ' +
          'measured transfer; middlebox = process.cpuUsage() delta inside the middlebox process over the same ' +
          'transfer (it runs nothing but its loop); Redis CPU is shown apart and is in neither cost',
        fairness:
          `in-process SwitchPipeline with programCpu ${FAIR_CPU.nsPerSecond} ns/s, burst ${FAIR_CPU.burstNs} ns; ` +
          `${FAIR_TENANTS} tenants, weight 1 each; tenant 0 runs heavy-hitter.json (3 hashes + 3 register adds per ` +
          `frame) and offers ${GREEDY_FACTOR}x the frames of tenants 1-3, which run flow-counters.json; ` +
          `${FAIR_SECONDS} s of ${FAIR_ROUND_MS} ms rounds, frames interleaved within a round; tenants 1-3 offer ` +
          `${LIGHT_DEMAND_OF_SHARE} of their equal share (from the calibrated cost)`,
        fair_means:
          "a tenant's fair share is min(its demand, an equal 1/4 of the program CPU budget) in frames: " +
          'min(offered, budget/4 x wall time / its program time per frame); program time per frame is what the ' +
          'pipeline charges (performance.now() around run), calibrated on the same frames without a budget; ' +
          'processed = received - drops(cpu-budget) from pipeline.counters; greedy_min_fair_share = min over ' +
          'tenants 1-3 of processed / fair; jain_index over those three ratios',
      },
      metrics: {
        merge_ns_per_packet_no_program: round(merge.baseTen),
        merge_ns_per_packet_one_tenant: round(merge.one),
        merge_ns_per_packet_ten_tenants: round(merge.ten),
        merge_program_ns_one_tenant: round(merge.one - merge.baseOne),
        merge_program_ns_ten_tenants: round(merge.ten - merge.baseTen),
        merge_ns_per_packet_ten_tenants_unshared_code: round(merge.tenUnshared),
        e2e_in_switch_pps: Math.round(inSwitch.pps),
        e2e_middlebox_pps: Math.round(middlebox.pps),
        e2e_in_switch_switch_cpu_ns_per_frame: Math.round(inSwitch.switchNsPerFrame),
        e2e_middlebox_switch_cpu_ns_per_frame: Math.round(middlebox.switchNsPerFrame),
        e2e_middlebox_vm_cpu_ns_per_frame: Math.round(middlebox.middleboxNsPerFrame),
        e2e_in_switch_redis_cpu_ns_per_frame: Math.round(inSwitch.redisNsPerFrame),
        e2e_middlebox_redis_cpu_ns_per_frame: Math.round(middlebox.redisNsPerFrame),
        e2e_in_switch_vs_middlebox_cost_round_min: round(Math.min(...roundRatios)),
        e2e_in_switch_vs_middlebox_cost_round_max: round(Math.max(...roundRatios)),
        e2e_in_switch_drops: inSwitch.drops,
        e2e_middlebox_drops: middlebox.drops,
        fair_heavy_program_ns_per_frame: round(fair.heavyNs),
        fair_light_program_ns_per_frame: round(fair.lightNs),
        fair_light_offered_pps: Math.round(fair.lightOfferedPps),
        fair_light_processed_pps_min: Math.round(fair.lightProcessedPpsMin),
        greedy_min_fair_share: round(fair.minFairShare),
        jain_index: round(fair.jain),
        greedy_offered_pps: Math.round(fair.greedyOfferedPps),
        greedy_processed_pps: Math.round(fair.greedyProcessedPps),
        greedy_achieved_vs_fair: round(fair.greedyVsFair),
        greedy_share_of_budget: round(fair.greedyShareOfBudget),
        greedy_implied_program_ns_per_frame: round(fair.greedyImpliedNs),
        light_share_of_budget_mean: round(fair.lightShareOfBudget),
        fair_rounds_late_pct: round(fair.latePct),
      },
      baseline: {
        merge_ns_per_packet_no_program: round(merge.baseTen),
        merge_ns_per_packet_no_program_one_tenant_layout: round(merge.baseOne),
        e2e_middlebox_cost_ns_per_frame: Math.round(middleboxCost),
        fair_light_equal_share_pps: Math.round(fair.lightEqualSharePps),
      },
      ratios: {
        ten_vs_one_tenant_cost: round(merge.ten / merge.one),
        ten_vs_one_tenant_program_cost: round((merge.ten - merge.baseTen) / (merge.one - merge.baseOne)),
        ten_unshared_code_vs_one_tenant_cost: round(merge.tenUnshared / merge.one),
        one_tenant_vs_no_program: round(merge.one / merge.baseOne),
        in_switch_vs_middlebox_cost: round(pathCost(inSwitch) / middleboxCost),
        in_switch_vs_middlebox_pps: round(inSwitch.pps / middlebox.pps),
      },
    });
  } finally {
    admin.disconnect();
    await redis.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Programs

function programDocument(file: string): unknown {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'programs', file), 'utf8'));
}

function validFor(file: string, tenant: string, vms: readonly string[]): ValidProgram {
  return validateProgram(programDocument(file), { tenant, vms, quota: QUOTA });
}

/** Consecutive slices (the allocator's first-fit on empty memory gives the same), from `offset` in stage 0. */
function consecutivePageTable(valid: ValidProgram, offset: number): { pageTable: PageTable; end: number } {
  const pageTable: Record<string, { stage: number; offset: number; amount: number }> = {};
  let next = offset;
  for (const { name, size, width } of valid.program.registers) {
    const amount = width === 128 ? size * 2 : size;
    pageTable[name] = { stage: 0, offset: next, amount };
    next += amount;
  }
  return { pageTable, end: next };
}

// ---------------------------------------------------------------------------------------------------------------
// (a) merging overhead

interface MergeResult {
  baseOne: number;
  baseTen: number;
  one: number;
  ten: number;
  tenUnshared: number;
}

/**
 * The same 4096 frames between 20 VMs, under two layouts: the 20 VMs as 1 tenant, or as 10 tenants of 2 (VM 2t
 * inside, 2t + 1 outside, for t = 0..9). Each layout runs without programs (the baseline) and with the stateful
 * firewall: one instance for the single tenant, or one instance per tenant (sharing the compiled code, as the
 * switch's installer does, or each compiled apart).
 */
function mergingOverhead(): MergeResult {
  const vms = Array.from({ length: 2 * MERGE_TENANTS }, (_, i) => `merge-vm-${i}`);
  let seed = 42;
  const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const frames: { from: number; frame: Buffer }[] = [];
  for (let flow = 0; flow < MERGE_FLOWS; flow++) {
    const t = flow % MERGE_TENANTS;
    const inside = 2 * t;
    const outside = inside + 1;
    const payload = Buffer.alloc(22 + Math.floor(random() * 1336));
    const between = (from: number, to: number, sport: number, dport: number): Buffer =>
      buildFrame({
        srcMac: vmMacAddress(vms[from]),
        dstMac: vmMacAddress(vms[to]),
        ipv4: { src: vmIpv4Address(vms[from]), dst: vmIpv4Address(vms[to]) },
        udp: { srcPort: sport, dstPort: dport },
        payload,
      });
    frames.push({ from: inside, frame: between(inside, outside, 10_000 + flow, 80) });
    frames.push({ from: outside, frame: between(outside, inside, 80, 10_000 + flow) });
  }

  const build = (
    tenants: number,
    programs: 'none' | 'shared-code' | 'unshared-code',
  ): { pipeline: SwitchPipeline; ingress: IngressFrame[] } => {
    const pipeline = new SwitchPipeline({ flowCacheSize: 65_536 });
    const ports: SwitchPort[] = vms.map((vm, i) => {
      const t = Math.floor(i / 2) % tenants;
      return { no: i + 1, vm, tenant: `merge-t${t}`, vlan: t + 1 };
    });
    for (const port of ports) pipeline.attach(port);
    if (programs !== 'none') {
      const memory = new RegisterMemory(8, 65_536);
      const codes = programs === 'shared-code' ? new ProgramCodeCache() : undefined;
      const installed = new Map<string, CompiledProgram>();
      let offset = 0;
      for (let t = 0; t < tenants; t++) {
        const tenant = `merge-t${t}`;
        const own = ports.filter((p) => p.tenant === tenant);
        const valid = validFor(
          'stateful-firewall.json',
          tenant,
          own.map((p) => p.vm),
        );
        const { pageTable, end } = consecutivePageTable(valid, offset);
        offset = end;
        const program = compileProgram(valid, pageTable, memory, NO_HOOKS, codes);
        // The even VMs are the inside of their tenant: their port selects `outbound`.
        for (const port of own.filter((p) => (p.no - 1) % 2 === 0)) {
          program.addEntry('zone', { key: [{ value: port.no }], action: 'outbound' });
        }
        installed.set(tenant, program);
      }
      pipeline.installPrograms(installed);
    }
    const ingress = frames.map(({ from, frame }) => ({ port: ports[from], frame }));
    // Learn every MAC and mark every flow (requests come before their replies), then warm the JIT.
    for (let pass = 0; pass < 20; pass++) for (const frame of ingress) pipeline.process(frame);
    return { pipeline, ingress };
  };

  const configs = {
    baseOne: build(1, 'none'),
    baseTen: build(MERGE_TENANTS, 'none'),
    one: build(1, 'shared-code'),
    ten: build(MERGE_TENANTS, 'shared-code'),
    tenUnshared: build(MERGE_TENANTS, 'unshared-code'),
  };
  const samples: Record<keyof typeof configs, number[]> = {
    baseOne: [],
    baseTen: [],
    one: [],
    ten: [],
    tenUnshared: [],
  };
  for (let round = 0; round < MERGE_ROUNDS; round++) {
    // Every other round in reverse order, so a drift in the machine's speed falls on all configurations alike.
    const order = Object.keys(configs) as (keyof typeof configs)[];
    if (round % 2 === 1) order.reverse();
    for (const key of order) {
      const { pipeline, ingress } = configs[key];
      const before = dropsOf(pipeline);
      samples[key].push(nsPerPacket(pipeline, ingress, MERGE_ROUND_SECONDS));
      const dropped = dropsOf(pipeline) - before;
      // Every frame must take the full path (no program drop, no same-port drop), or the comparison is off.
      if (dropped > 0) throw new Error(`merging run ${key} dropped ${dropped} frames`);
    }
  }
  return {
    baseOne: median(samples.baseOne),
    baseTen: median(samples.baseTen),
    one: median(samples.one),
    ten: median(samples.ten),
    tenUnshared: median(samples.tenUnshared),
  };
}

function nsPerPacket(pipeline: SwitchPipeline, frames: readonly IngressFrame[], seconds: number): number {
  let processed = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (const frame of frames) pipeline.process(frame);
    processed += frames.length;
  }
  return ((performance.now() - started) * 1e6) / processed;
}

function dropsOf(pipeline: SwitchPipeline): number {
  let total = 0;
  for (const counters of Object.values(pipeline.counters.snapshot().tenants)) {
    for (const count of Object.values(counters.drops)) total += count ?? 0;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// (c) fairness

interface FairResult {
  heavyNs: number;
  lightNs: number;
  lightOfferedPps: number;
  lightProcessedPpsMin: number;
  lightEqualSharePps: number;
  minFairShare: number;
  jain: number;
  greedyOfferedPps: number;
  greedyProcessedPps: number;
  greedyVsFair: number;
  greedyShareOfBudget: number;
  greedyImpliedNs: number;
  lightShareOfBudget: number;
  latePct: number;
}

function fairness(): FairResult {
  const tenants = Array.from({ length: FAIR_TENANTS }, (_, t) => `fair-t${t}`);
  const ports: SwitchPort[] = tenants.flatMap((tenant, t) =>
    [0, 1].map((k) => ({ no: 2 * t + k + 1, vm: `fair-vm-${t}-${k}`, tenant, vlan: t + 1 })),
  );
  const programFile = (t: number): string => (t === 0 ? 'heavy-hitter.json' : 'flow-counters.json');
  const compileFor = (t: number, memory: RegisterMemory): CompiledProgram => {
    const own = ports.filter((p) => p.tenant === tenants[t]).map((p) => p.vm);
    const valid = validFor(programFile(t), tenants[t], own);
    // Each tenant its own 4096-cell region (the heavy hitter needs 4 x 1024; flow counters none).
    return compileProgram(valid, consecutivePageTable(valid, t * 4096).pageTable, memory, NO_HOOKS);
  };
  // 256 flows per tenant from VM 0 to VM 1, from 256 source addresses (the heavy hitter keys on ipv4.src).
  const framesOf = (t: number): IngressFrame[] =>
    Array.from({ length: 256 }, (_, i) => ({
      port: ports[2 * t],
      frame: buildFrame({
        srcMac: vmMacAddress(ports[2 * t].vm),
        dstMac: vmMacAddress(ports[2 * t + 1].vm),
        ipv4: { src: `10.${t}.${i >> 4}.${(i & 15) + 1}`, dst: vmIpv4Address(ports[2 * t + 1].vm) },
        udp: { srcPort: 20_000 + i, dstPort: 53 },
        payload: Buffer.alloc(64),
      }),
    }));
  const frames = tenants.map((_, t) => framesOf(t));

  // Calibrate: what the pipeline charges per frame of each program (performance.now() around `run`).
  const calibrationMemory = new RegisterMemory(8, 65_536);
  const heavyNs = chargedNsPerFrame(compileFor(0, calibrationMemory), frames[0]);
  const lightNs = chargedNsPerFrame(compileFor(1, calibrationMemory), frames[1]);

  const pipeline = new SwitchPipeline({ flowCacheSize: 65_536, programCpu: FAIR_CPU });
  for (const port of ports) pipeline.attach(port);
  const memory = new RegisterMemory(8, 65_536);
  const programs = new Map(tenants.map((tenant, t) => [tenant, compileFor(t, memory)] as const));
  // Learn the MACs before the programs (and their budgets) exist.
  for (const tenantFrames of frames) pipeline.process(tenantFrames[0]);
  pipeline.installPrograms(programs);

  const equalShareNsPerMs = FAIR_CPU.nsPerSecond / FAIR_TENANTS / 1000;
  const lightPerRound = Math.max(1, Math.round((LIGHT_DEMAND_OF_SHARE * equalShareNsPerMs * FAIR_ROUND_MS) / lightNs));
  const greedyPerRound = GREEDY_FACTOR * lightPerRound;
  const before = pipeline.counters.snapshot().tenants;
  const offered = new Array<number>(FAIR_TENANTS).fill(0);
  const cursor = new Array<number>(FAIR_TENANTS).fill(0);
  const next = (t: number): IngressFrame => frames[t][cursor[t]++ & 255];
  const rounds = Math.round((FAIR_SECONDS * 1000) / FAIR_ROUND_MS);
  let late = 0;
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    const due = started + round * FAIR_ROUND_MS;
    if (performance.now() > due + FAIR_ROUND_MS) late++;
    while (performance.now() < due) {
      /* pace the rounds: offered load is per unit of wall time, as the budget is */
    }
    for (let i = 0; i < greedyPerRound; i++) {
      pipeline.process(next(0));
      offered[0]++;
      if (i % GREEDY_FACTOR === 0) {
        for (let t = 1; t < FAIR_TENANTS; t++) {
          pipeline.process(next(t));
          offered[t]++;
        }
      }
    }
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const after = pipeline.counters.snapshot().tenants;

  const costOf = (t: number): number => (t === 0 ? heavyNs : lightNs);
  const equalShareNs = (FAIR_CPU.nsPerSecond / FAIR_TENANTS) * wallSeconds;
  const processed = tenants.map((tenant) => {
    const rx = (after[tenant]?.rxFrames ?? 0) - (before[tenant]?.rxFrames ?? 0);
    const budgetDrops = (after[tenant]?.drops['cpu-budget'] ?? 0) - (before[tenant]?.drops['cpu-budget'] ?? 0);
    return rx - budgetDrops;
  });
  const fairFrames = tenants.map((_, t) => Math.min(offered[t], equalShareNs / costOf(t)));
  const normalized = processed.map((p, t) => p / fairFrames[t]);
  const light = normalized.slice(1);
  const sum = light.reduce((a, b) => a + b, 0);
  const sumSquares = light.reduce((a, b) => a + b * b, 0);
  const budgetNs = FAIR_CPU.nsPerSecond * wallSeconds;
  return {
    heavyNs,
    lightNs,
    lightOfferedPps: offered[1] / wallSeconds,
    lightProcessedPpsMin: Math.min(...processed.slice(1)) / wallSeconds,
    lightEqualSharePps: equalShareNs / lightNs / wallSeconds,
    minFairShare: Math.min(...light),
    jain: (sum * sum) / (light.length * sumSquares),
    greedyOfferedPps: offered[0] / wallSeconds,
    greedyProcessedPps: processed[0] / wallSeconds,
    greedyVsFair: normalized[0],
    greedyShareOfBudget: (processed[0] * heavyNs) / budgetNs,
    // The greedy tenant is held to its bucket: what it was given (equal share + the initial burst) per frame it ran.
    greedyImpliedNs: (equalShareNs + FAIR_CPU.burstNs) / processed[0],
    lightShareOfBudget: processed.slice(1).reduce((a, p) => a + (p * lightNs) / budgetNs, 0) / (FAIR_TENANTS - 1),
    latePct: (100 * late) / rounds,
  };
}

/** Mean ns the pipeline would charge per frame: performance.now() before and after `run`, as SwitchPipeline does. */
function chargedNsPerFrame(program: CompiledProgram, frames: readonly IngressFrame[]): number {
  const view = new FrameView();
  const context = new PacketContext(view);
  let charged = 0;
  let runs = 0;
  const deadline = performance.now() + 300;
  for (let pass = 0; performance.now() < deadline || pass < 2; pass++) {
    for (const { frame, port } of frames) {
      parseFrame(frame, view);
      context.load(frame, port.no);
      const started = performance.now();
      program.run(context);
      charged += performance.now() - started;
      runs++;
    }
    if (pass === 1) {
      charged = 0; // the first two passes warm up
      runs = 0;
    }
  }
  return (charged * 1e6) / runs;
}

// ---------------------------------------------------------------------------------------------------------------
// (b) in-switch firewall vs middlebox VM, end to end

interface PathResult {
  pps: number;
  switchNsPerFrame: number;
  middleboxNsPerFrame: number;
  redisNsPerFrame: number;
  drops: number;
}

/** CPU per delivered frame on the path: the switch's and, on the detour, the middlebox VM's. */
function pathCost(result: PathResult): number {
  return result.switchNsPerFrame + result.middleboxNsPerFrame;
}

/** The rounds' mean (every round moves the same number of frames); drops are summed. */
function meanOf(runs: readonly PathResult[]): PathResult {
  const mean = (pick: (run: PathResult) => number): number =>
    runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
  return {
    pps: mean((run) => run.pps),
    switchNsPerFrame: mean((run) => run.switchNsPerFrame),
    middleboxNsPerFrame: mean((run) => run.middleboxNsPerFrame),
    redisNsPerFrame: mean((run) => run.redisNsPerFrame),
    drops: runs.reduce((sum, run) => sum + run.drops, 0),
  };
}

interface Dataplane {
  ports?: { port: number; vm: string }[];
  macs?: number;
  programs?: { version: number; lastError?: string };
  counters?: { tenants: Record<string, { drops: Record<string, number> }> };
}

async function dataplaneOf(sw: RunningSwitch): Promise<Dataplane> {
  return (await requestJson<Dataplane>('GET', `${sw.url}/dataplane`, undefined, 2000)).body;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function udpFrame(from: string, dstMacOf: string, to: string, sport: number, dport: number): Buffer {
  return buildFrame({
    srcMac: vmMacAddress(from),
    dstMac: vmMacAddress(dstMacOf),
    ipv4: { src: vmIpv4Address(from), dst: vmIpv4Address(to) },
    udp: { srcPort: sport, dstPort: dport },
    payload: Buffer.alloc(FRAME_PAYLOAD),
  });
}

/** Every VM sends one frame so the switch learns all MACs (and unicasts from then on); then every rx is emptied. */
async function announce(admin: Redis, sw: RunningSwitch): Promise<void> {
  const vms = ['bench-a1', 'bench-a2', 'bench-mb'];
  for (const vm of vms) {
    const to = vm === 'bench-a1' ? 'bench-a2' : 'bench-a1';
    await admin.xadd(PORT_KEYS.tx(vm), '*', PORT_ENTRY_FIELDS.frame, udpFrame(vm, to, to, 9, 9));
  }
  await until('the switch to learn the three MACs', 10_000, async () => ((await dataplaneOf(sw)).macs ?? 0) >= 3);
  await admin.del(...vms.map((vm) => PORT_KEYS.rx(vm)));
}

/** Frames bench-a1 sends, one per flow, addressed (by MAC) to `via` and (by IP) to bench-a2. */
function senderFrames(via: string): Buffer[] {
  return Array.from({ length: E2E_FLOWS }, (_, flow) => udpFrame('bench-a1', via, 'bench-a2', 4000 + flow, 4001));
}

/** Sends `total` frames from bench-a1's tx in pipelined batches and waits until bench-a2's rx got them all. */
function transfer(admin: Redis, frames: readonly Buffer[], total: number): Promise<number> {
  const frame = (seq: number): Buffer => frames[seq % frames.length];
  return portTransferRate(admin, { from: 'bench-a1', to: 'bench-a2', total, batch: E2E_BATCH, frame });
}

const CLOCK_TICKS_PER_SECOND = clockTicks();

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process, in ns (resolution: one clock tick, 10 ms at 100 Hz). */
function processCpuNs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e9) / CLOCK_TICKS_PER_SECOND;
}

function tenantDrops(dataplane: Dataplane): number {
  const drops = dataplane.counters?.tenants['bench']?.drops ?? {};
  return Object.values(drops).reduce((a, b) => a + b, 0);
}

async function inSwitchPath(redis: TestRedis, admin: Redis, sw: RunningSwitch): Promise<PathResult> {
  await announce(admin, sw);
  const valid = validFor('stateful-firewall.json', 'bench', ['bench-a1', 'bench-a2', 'bench-mb']);
  // As the allocator links it: the current pipeline, then a versions entry the switch follows.
  const linked: LinkedPipeline = {
    version: 1,
    createdAt: new Date().toISOString(),
    tenants: { bench: { program: valid, pageTable: consecutivePageTable(valid, 0).pageTable } },
  };
  const json = JSON.stringify(linked);
  await admin.set(REDIS_KEYS.pipelineCurrent, json);
  await admin.xadd(REDIS_KEYS.pipelineVersions, '*', 'version', String(linked.version), 'pipeline', json);
  await until('the switch to install pipeline version 1', 10_000, async () => {
    const programs = (await dataplaneOf(sw)).programs;
    if (programs?.lastError) throw new Error(programs.lastError);
    return programs?.version === linked.version;
  });
  const insidePort = (await dataplaneOf(sw)).ports?.find((p) => p.vm === 'bench-a1')?.port;
  const entry = await requestJson('POST', `${sw.url}/tenants/bench/tables/zone/entries`, {
    key: [{ value: insidePort }],
    action: 'outbound',
  });
  if (entry.status !== 201) throw new Error(`zone entry refused: ${entry.status} ${JSON.stringify(entry.body)}`);
  try {
    const frames = senderFrames('bench-a2');
    await transfer(admin, frames, E2E_WARMUP_FRAMES);
    const dropsBefore = tenantDrops(await dataplaneOf(sw));
    const switchBefore = processCpuNs(sw.pid);
    const redisBefore = processCpuNs(redis.pid);
    const pps = await transfer(admin, frames, E2E_FRAMES);
    const switchNs = processCpuNs(sw.pid) - switchBefore;
    const redisNs = processCpuNs(redis.pid) - redisBefore;
    return {
      pps,
      switchNsPerFrame: switchNs / E2E_FRAMES,
      middleboxNsPerFrame: 0,
      redisNsPerFrame: redisNs / E2E_FRAMES,
      drops: tenantDrops(await dataplaneOf(sw)) - dropsBefore,
    };
  } finally {
    await admin.del(REDIS_KEYS.pipelineCurrent, REDIS_KEYS.pipelineVersions);
  }
}

type MiddleboxMessage =
  | { type: 'ready' }
  | { type: 'cpu'; cpuNs: number; frames: number; denied: number }
  | { type: 'failed'; error: string };

async function middleboxPath(redis: TestRedis, admin: Redis, sw: RunningSwitch): Promise<PathResult> {
  await announce(admin, sw);
  const child = fork(__filename, [MIDDLEBOX_ROLE], {
    env: { PATH: process.env['PATH'] ?? '', MIDDLEBOX_REDIS_URL: redis.url },
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const message = (type: MiddleboxMessage['type']): Promise<MiddleboxMessage> =>
    new Promise((resolve, reject) => {
      const onMessage = (raw: unknown): void => {
        const m = raw as MiddleboxMessage;
        if (m.type === 'failed') reject(new Error(`middlebox failed: ${m.error}`));
        else if (m.type === type) resolve(m);
        else return;
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
    });
  try {
    await message('ready');
    const frames = senderFrames('bench-mb');
    await transfer(admin, frames, E2E_WARMUP_FRAMES);
    const dropsBefore = tenantDrops(await dataplaneOf(sw));
    const switchBefore = processCpuNs(sw.pid);
    const redisBefore = processCpuNs(redis.pid);
    child.send({ type: 'start' });
    const pps = await transfer(admin, frames, E2E_FRAMES);
    const measured = message('cpu');
    child.send({ type: 'stop' });
    const cpu = (await measured) as Extract<MiddleboxMessage, { type: 'cpu' }>;
    const switchNs = processCpuNs(sw.pid) - switchBefore;
    const redisNs = processCpuNs(redis.pid) - redisBefore;
    if (cpu.frames !== E2E_FRAMES || cpu.denied !== 0) {
      throw new Error(`middlebox forwarded ${cpu.frames} frames (denied ${cpu.denied}), expected ${E2E_FRAMES}`);
    }
    return {
      pps,
      switchNsPerFrame: switchNs / E2E_FRAMES,
      middleboxNsPerFrame: cpu.cpuNs / E2E_FRAMES,
      redisNsPerFrame: redisNs / E2E_FRAMES,
      drops: tenantDrops(await dataplaneOf(sw)) - dropsBefore,
    };
  } finally {
    child.send({ type: 'exit' });
    await exited;
  }
}

/**
 * The middlebox VM, bench-mb, in its own process: reads its rx in batches, runs the stateful firewall in plain
 * TypeScript (the same rule as stateful-firewall.json: bench-a1 is inside; frames from inside mark their 5-tuple's
 * bucket, other frames pass only if the reversed 5-tuple's bucket is marked), rewrites the destination MAC to
 * bench-a2 and the source MAC to its own, and XADDs to its tx. CPU is process.cpuUsage() between `start` and `stop`.
 */
async function runMiddleboxChild(): Promise<void> {
  const send = (m: MiddleboxMessage): void => void process.send?.(m);
  const redis = new Redis(process.env['MIDDLEBOX_REDIS_URL'] ?? '');
  const rx = PORT_KEYS.rx('bench-mb');
  const tx = PORT_KEYS.tx('bench-mb');
  const ownMac = Buffer.from(vmMacAddress('bench-mb').replace(/:/g, ''), 'hex');
  const nextMac = Buffer.from(vmMacAddress('bench-a2').replace(/:/g, ''), 'hex');
  const inside = ipv4Number(vmIpv4Address('bench-a1'));
  const marks = new Uint8Array(4096);
  const tuple = Buffer.alloc(13);
  const view = new FrameView();
  const bucket = (src: number, dst: number, proto: number, sport: number, dport: number): number => {
    tuple.writeUInt32BE(src >>> 0, 0);
    tuple.writeUInt32BE(dst >>> 0, 4);
    tuple.writeUInt8(proto, 8);
    tuple.writeUInt16BE(sport, 9);
    tuple.writeUInt16BE(dport, 11);
    return crc32(tuple, 13) % 4096;
  };
  let measuring: { since: NodeJS.CpuUsage } | undefined;
  let forwarded = 0;
  let denied = 0;
  let exiting = false;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'start') {
      forwarded = 0;
      denied = 0;
      measuring = { since: process.cpuUsage() };
    } else if (m.type === 'stop' && measuring) {
      const used = process.cpuUsage(measuring.since);
      measuring = undefined;
      send({ type: 'cpu', cpuNs: (used.user + used.system) * 1000, frames: forwarded, denied });
    } else if (m.type === 'exit') exiting = true;
  });
  let lastId = '0-0';
  send({ type: 'ready' });
  while (!exiting) {
    const reply = await redis.xreadBuffer('COUNT', 512, 'BLOCK', 100, 'STREAMS', rx, lastId);
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) continue;
    const out = redis.pipeline();
    for (const [, fields] of entries) {
      lastId = entries[entries.length - 1][0].toString();
      let frame: Buffer | undefined;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i].toString() === PORT_ENTRY_FIELDS.frame) frame = fields[i + 1];
      }
      if (frame === undefined || parseFrame(frame, view) !== undefined || view.etherType !== 0x0800) continue;
      if (view.ipSrc >>> 0 === inside) {
        marks[bucket(view.ipSrc, view.ipDst, view.ipProtocol, view.srcPort, view.dstPort)] = 1;
      } else if (marks[bucket(view.ipDst, view.ipSrc, view.ipProtocol, view.dstPort, view.srcPort)] === 0) {
        denied++;
        continue;
      }
      nextMac.copy(frame, 0);
      ownMac.copy(frame, 6);
      out.xadd(tx, '*', PORT_ENTRY_FIELDS.frame, frame);
      forwarded++;
    }
    out.xtrim(rx, 'MINID', lastId);
    await out.exec();
  }
  redis.disconnect();
  // The IPC channel keeps a child alive: close it so the process can end.
  process.disconnect?.();
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

// ---------------------------------------------------------------------------------------------------------------

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

if (require.main === module && process.argv[2] === MIDDLEBOX_ROLE) {
  runMiddleboxChild().catch((error: unknown) => {
    process.send?.({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  });
}
