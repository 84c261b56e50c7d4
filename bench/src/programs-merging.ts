import { buildFrame, vmIpv4Address, vmMacAddress } from '@tenantlab/shared';
import {
  type CompiledProgram,
  compileProgram,
  type IngressFrame,
  ProgramCodeCache,
  RegisterMemory,
  SwitchPipeline,
  type SwitchPort,
} from '@tenantlab/switch';
import { consecutivePageTable, NO_HOOKS, type ReportSection, round, validFor } from './bench-programs';
import { median, orderOfRound } from './bench-rounds';

const TENANTS = 10;
const FLOWS = 2048; // two frames per flow (request and reply)
const FRAMES = 2 * FLOWS;
const WARMUP_PASSES = 20;
const ROUNDS = 16; // even: every configuration runs as often in each position of the order
const ROUND_SECONDS = 0.25;

type Config = 'baseOne' | 'baseTen' | 'one' | 'ten' | 'tenUnshared';
const CONFIGS: readonly Config[] = ['baseOne', 'baseTen', 'one', 'ten', 'tenUnshared'];

/**
 * (a) Merging overhead (Click, seed 002: ~10%): the same frames between 20 VMs as 1 tenant running the stateful
 * firewall once, or as 10 tenants of 2 VMs each running their own instance (sharing the compiled code, as the
 * switch's installer does, or each compiled apart). Both layouts also run without programs in the same rounds, so
 * the program-only cost (what merging is about) is the difference with the switch's base pipeline of that layout,
 * taken per round and then the median: the goal applies to the program-only ratio, not to the total with the base.
 */
export function mergingOverhead(): ReportSection {
  const { vms, frames } = mergeTraffic();
  const configs: Record<Config, { pipeline: SwitchPipeline; ingress: IngressFrame[] }> = {
    baseOne: build(vms, frames, 1, 'none'),
    baseTen: build(vms, frames, TENANTS, 'none'),
    one: build(vms, frames, 1, 'shared-code'),
    ten: build(vms, frames, TENANTS, 'shared-code'),
    tenUnshared: build(vms, frames, TENANTS, 'unshared-code'),
  };
  const samples: Record<Config, number[]> = { baseOne: [], baseTen: [], one: [], ten: [], tenUnshared: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Every other round in reverse order, so a drift in the machine's speed falls on all configurations alike.
    for (const key of orderOfRound(CONFIGS, round)) {
      const { pipeline, ingress } = configs[key];
      const before = dropsOf(pipeline);
      samples[key].push(nsPerPacket(pipeline, ingress, ROUND_SECONDS));
      const dropped = dropsOf(pipeline) - before;
      // Every frame must take the full path (no program drop, no same-port drop), or the comparison is off.
      if (dropped > 0) throw new Error(`merging run ${key} dropped ${dropped} frames`);
    }
  }
  // Program-only ns/packet of each round: the run with programs minus the run without, same layout, same round.
  const programOnly = (withPrograms: Config, base: Config): number[] =>
    samples[withPrograms].map((ns, i) => ns - samples[base][i]);
  const oneProgram = programOnly('one', 'baseOne');
  const tenProgram = programOnly('ten', 'baseTen');
  const tenUnsharedProgram = programOnly('tenUnshared', 'baseTen');
  const roundRatios = tenProgram.map((ten, i) => ten / oneProgram[i]);
  const m = (key: Config): number => median(samples[key]);

  return {
    goals: {
      // Seed 002: merging 10 tenants' programs costs about 10% more program time per packet than one program.
      ten_vs_one_tenant_program_cost: { atMost: 1.1 },
    },
    setup: {
      merging:
        `in-process SwitchPipeline, flow cache on, no CPU budget; ${FRAMES} frames (${FLOWS} UDP flows, request + ` +
        `reply, 64-1400 B) between 20 VMs; 5 configurations of the same frames: 1 tenant of 20 VMs or 10 tenants ` +
        `of 2 VMs, each without programs, and with stateful-firewall.json (1 instance, or 10 validated instances ` +
        `with their own page table: 4096 consecutive cells per tenant in stage 0, own zone entry, own counters, ` +
        `dispatched on VLAN id; "shared code" shares the compiled code of the one document (ProgramCodeCache) as ` +
        `the switch does, "unshared code" compiles each instance apart, as 10 different documents would be)`,
      merging_runs:
        `each configuration warmed with ${WARMUP_PASSES} passes over the ${FRAMES} frames (fills the flow cache, marks ` +
        `flows, JIT); then ${ROUNDS} rounds, each running every configuration for whole passes over the ` +
        `${FRAMES} frames until it used ${ROUND_SECONDS} s of CPU, in the order ${CONFIGS.join(', ')} in odd ` +
        `rounds and reversed in even ones; ns/packet = CPU time of the process (user + system, process.cpuUsage) ` +
        `/ frames of a run, so time descheduled on the shared machine is not counted; total figures are medians ` +
        `over the ${ROUNDS} rounds`,
      merging_program_only:
        'program ns/packet = (run with programs - run without programs, same layout, same round), median over ' +
        'rounds; ten_vs_one_tenant_program_cost = median 10-tenant program ns / median 1-tenant program ns (the ' +
        'merging overhead, with the goal); ten_vs_one_tenant_total_cost includes the base pipeline both share',
    },
    metrics: {
      merge_ns_per_packet_no_program: round(m('baseTen')),
      merge_ns_per_packet_one_tenant: round(m('one')),
      merge_ns_per_packet_ten_tenants: round(m('ten')),
      merge_ns_per_packet_ten_tenants_unshared_code: round(m('tenUnshared')),
      merge_program_ns_one_tenant: round(median(oneProgram)),
      merge_program_ns_ten_tenants: round(median(tenProgram)),
      merge_program_ns_ten_tenants_unshared_code: round(median(tenUnsharedProgram)),
      ten_vs_one_tenant_program_cost_round_min: round(Math.min(...roundRatios)),
      ten_vs_one_tenant_program_cost_round_max: round(Math.max(...roundRatios)),
    },
    baseline: {
      merge_ns_per_packet_no_program: round(m('baseTen')),
      merge_ns_per_packet_no_program_one_tenant_layout: round(m('baseOne')),
    },
    ratios: {
      ten_vs_one_tenant_program_cost: round(median(tenProgram) / median(oneProgram)),
      ten_unshared_code_vs_one_tenant_program_cost: round(median(tenUnsharedProgram) / median(oneProgram)),
      ten_vs_one_tenant_total_cost: round(m('ten') / m('one')),
      ten_unshared_code_vs_one_tenant_total_cost: round(m('tenUnshared') / m('one')),
      one_tenant_vs_no_program: round(m('one') / m('baseOne')),
    },
  };
}

/** Request and reply frames of each flow; flow f belongs to tenant f mod 10 (VM 2t inside, 2t + 1 outside). */
function mergeTraffic(): { vms: string[]; frames: { from: number; frame: Buffer }[] } {
  const vms = Array.from({ length: 2 * TENANTS }, (_, i) => `merge-vm-${i}`);
  let seed = 42;
  const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const frames: { from: number; frame: Buffer }[] = [];
  for (let flow = 0; flow < FLOWS; flow++) {
    const inside = 2 * (flow % TENANTS);
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
  return { vms, frames };
}

/** A pipeline with the VMs as `tenants` tenants of equal size, with or without their firewalls, warmed up. */
function build(
  vms: readonly string[],
  frames: readonly { from: number; frame: Buffer }[],
  tenants: number,
  programs: 'none' | 'shared-code' | 'unshared-code',
): { pipeline: SwitchPipeline; ingress: IngressFrame[] } {
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
  // Fill the flow cache and mark every flow (requests come before their replies), then warm the JIT.
  for (let pass = 0; pass < WARMUP_PASSES; pass++) for (const frame of ingress) pipeline.process(frame);
  return { pipeline, ingress };
}

/**
 * Whole passes over `frames` until the process has used `seconds` of CPU (at least one pass): CPU ns per frame.
 * CPU time (process.cpuUsage: user + system), not wall time, so time the process spends descheduled on a busy
 * machine is not counted as the pipeline's.
 */
function nsPerPacket(pipeline: SwitchPipeline, frames: readonly IngressFrame[], seconds: number): number {
  let processed = 0;
  const started = process.cpuUsage();
  let usedUs = 0;
  do {
    for (const frame of frames) pipeline.process(frame);
    processed += frames.length;
    const used = process.cpuUsage(started);
    usedUs = used.user + used.system;
  } while (usedUs < seconds * 1e6);
  return (usedUs * 1000) / processed;
}

function dropsOf(pipeline: SwitchPipeline): number {
  let total = 0;
  for (const counters of Object.values(pipeline.counters.snapshot().tenants)) {
    for (const count of Object.values(counters.drops)) total += count ?? 0;
  }
  return total;
}
