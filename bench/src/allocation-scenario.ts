import {
  DEFAULT_UTILITY_POLICY,
  FIT_ATTEMPTS,
  heldCells,
  InsufficientCapacityError,
  MemoryMap,
  reallocateByUtility,
  shareableSlots,
  shrunkShares,
} from '@tenantlab/allocator';
import { type LoadedScenario, loadScenario, planScenario, type UtilityFigures, utilityFiguresOf } from '@tenantlab/lab';
import {
  buildFrame,
  DEFAULT_TENANT_QUOTA,
  HEADER_BYTES,
  hitRatio,
  type PageTable,
  type UtilityReportMessage,
  validateProgram,
  type ValidProgram,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import {
  type CompiledProgram,
  type IngressFrame,
  ProgramCodeCache,
  RegisterMemory,
  SwitchPipeline,
  type SwitchPort,
} from '@tenantlab/switch';
import { FLOW_BASE_PORT, TRAFFIC_DST_PORT } from '@tenantlab/tenant-vm';
import { CELLS_PER_SLOT, compileLinked, countsOf, flowTableRegisters } from './allocation-switch';
import { type PlannedSend, plannedSends, sendsByWindow } from './scenario-traffic';

/** Bits one flow-table slot takes (a 32-bit key and a 32-bit count), for the tenant's register quota. */
const BITS_PER_SLOT = 64;

interface ScenarioTenant {
  name: string;
  valid: ValidProgram;
}

/** A scenario file as the in-process experiment runs it: tenants, their traffic per window, memory and windows. */
export interface ScenarioModel {
  name: string;
  seed: number;
  windowMs: number;
  windows: number;
  warmupMs: number;
  durationMs: number;
  windowReset: boolean;
  stages: number;
  cellsPerStage: number;
  tenants: ScenarioTenant[];
  /** Frames per window, every tenant's in the order their VMs send them. */
  traffic: IngressFrame[][];
}

export interface ScenarioModeResult {
  reports: UtilityReportMessage[];
  figures: UtilityFigures;
  /** Re-links decided on windows that closed after the warm-up (the lab's `relinks`). */
  relinks: number;
  frames: number;
}

/**
 * Reads a heavy-hitter scenario (scenarios/heavy-hitter-64.json) and draws its traffic as the lab would on `seed`
 * (default: the file's): on phases and per-run seeds from the lab's planScenario, each tenant's frames per window from
 * `plannedSends`, each frame a UDP frame from the sender to its receiver with source port 10000 + flow, which is
 * what flow-table-by-port keys on. Every tenant that runs a program needs a traffic workload from one of its VMs.
 */
export function loadScenarioModel(path: string, repoRoot: string, seed?: number): ScenarioModel {
  return scenarioModel(loadScenario(path, repoRoot), seed);
}

/** The model of a scenario already read and checked (loadScenario, parseScenario). */
export function scenarioModel({ scenario, programs }: LoadedScenario, seed?: number): ScenarioModel {
  const plan = planScenario(scenario, seed);
  const windowMs = scenario.switch?.utilityWindowMs ?? 2000;
  const windows = Math.ceil(plan.durationMs / windowMs);
  const tenants: ScenarioTenant[] = [];
  const portOf = new Map<string, SwitchPort>();
  for (const [t, tenant] of scenario.tenants.entries()) {
    for (const vm of tenant.vms) {
      portOf.set(vm, { no: portOf.size + 1, vm, tenant: tenant.id, vlan: t + 1 });
    }
    if (tenant.program === undefined) continue;
    const document = typeof tenant.program === 'string' ? programs.get(tenant.program) : tenant.program;
    tenants.push({
      name: tenant.id,
      valid: validateProgram(document, { tenant: tenant.id, vms: tenant.vms, quota: DEFAULT_TENANT_QUOTA }),
    });
  }
  const timed: { atMs: number; frame: IngressFrame }[][] = Array.from({ length: windows }, () => []);
  for (const planned of plan.workloads) {
    const w = planned.workload;
    if (w.kind !== 'traffic') continue;
    const port = portOf.get(w.from)!;
    const tenant = tenants.find((candidate) => candidate.name === port.tenant);
    if (!tenant) continue;
    const frames = new FlowFrames(w.from, w.to, w.size ?? 256);
    const sends = plannedSends(planned.onPhases, planned.seed, {
      ratePps: w.ratePps,
      flows: w.flows ?? 1,
      zipf: w.zipf,
    });
    for (const [window, inWindow] of sendsByWindow(sends, windowMs, windows).entries()) {
      for (const send of inWindow) timed[window].push({ atMs: send.atMs, frame: { port, frame: frames.of(send) } });
    }
  }
  return {
    name: scenario.name,
    seed: plan.seed,
    windowMs,
    windows,
    warmupMs: scenario.collect?.warmupMs ?? 0,
    durationMs: plan.durationMs,
    windowReset: scenario.switch?.utilityWindowReset ?? false,
    stages: scenario.allocator?.stages ?? 2,
    cellsPerStage: scenario.allocator?.registerCellsPerStage ?? 32_768,
    tenants,
    // Every VM's frames in the order they leave; tenants touch only their own memory, so this only mirrors the lab.
    traffic: timed.map((frames) => frames.sort((a, b) => a.atMs - b.atMs).map(({ frame }) => frame)),
  };
}

/** One frame per flow, built once: the generator's UDP frame from `from` to destination flow mod |to|. */
class FlowFrames {
  private readonly built = new Map<number, Buffer>();
  private readonly payload: Buffer;

  constructor(
    private readonly from: string,
    private readonly to: readonly string[],
    size: number,
  ) {
    // The TLAB header and filler: the program reads none of it, so zeros of the right length.
    this.payload = Buffer.alloc(Math.max(0, size - HEADER_BYTES.ethernet - HEADER_BYTES.ipv4 - HEADER_BYTES.udp));
  }

  of(send: PlannedSend): Buffer {
    let frame = this.built.get(send.flow);
    if (!frame) {
      const destination = this.to[send.flow % this.to.length];
      frame = buildFrame({
        srcMac: vmMacAddress(this.from),
        dstMac: vmMacAddress(destination),
        ipv4: { src: vmIpv4Address(this.from), dst: vmIpv4Address(destination) },
        udp: { srcPort: FLOW_BASE_PORT + send.flow, dstPort: TRAFFIC_DST_PORT },
        payload: this.payload,
      });
      this.built.set(send.flow, frame);
    }
    return frame;
  }
}

/**
 * Runs the scenario's windows through one in-process switch. Static: the programs stay linked as submitted (their
 * declared registers, the equal share), their state kept across windows. Live: after every window with traffic, the
 * allocator's loop as in services/allocator/src/reallocation/reallocation-loop.ts: the tenants that saw packets are
 * given reallocateByUtility's shares of the cells the others do not hold (times the packing slack, capped by the
 * register quota), re-linked largest first on a copy of the memory map (smaller by 5% when they do not fit, up to six
 * times), and the switch recompiles, with zeroed registers and counters, exactly the tenants whose page table changed,
 * as its ProgramInstaller does. The re-link is installed at the window boundary, with no delay.
 */
export function runScenarioMode(model: ScenarioModel, mode: 'static' | 'live'): ScenarioModeResult {
  const fabric = new InProcessSwitch(model);
  const reports: UtilityReportMessage[] = [];
  let frames = 0;
  let relinks = 0;
  for (const [w, traffic] of model.traffic.entries()) {
    fabric.run(traffic);
    frames += traffic.length;
    const windowEndMs = (w + 1) * model.windowMs;
    const windowReports = fabric.closeWindow(w + 1, windowEndMs);
    reports.push(...windowReports);
    const relinked = mode === 'live' && fabric.reallocate(windowReports, windowEndMs);
    // Counted as the lab counts them: decisions taken within the measured window.
    if (relinked && windowEndMs >= model.warmupMs && windowEndMs <= model.durationMs) relinks += 1;
  }
  return { reports, figures: utilityFiguresOf(reports, [], model.warmupMs, model.durationMs), relinks, frames };
}

interface Installed {
  program: CompiledProgram;
  pageTable: PageTable;
  slots: number;
  /** Its counters when it was last reported. */
  packets: number;
  misses: number;
}

/** The switch's memory, installed programs and utility reporter, and the allocator's memory map, in one process. */
class InProcessSwitch {
  private readonly pipeline = new SwitchPipeline({ flowCacheSize: 65_536 });
  private readonly memory: RegisterMemory;
  private readonly codes = new ProgramCodeCache();
  private readonly installed = new Map<string, Installed>();
  private readonly tenants: Map<string, ScenarioTenant>;
  private map: MemoryMap;
  private version = 1;
  private installedAtMs = 0;

  constructor(private readonly model: ScenarioModel) {
    this.memory = new RegisterMemory(model.stages, model.cellsPerStage);
    this.map = new MemoryMap(model.stages, model.cellsPerStage);
    this.tenants = new Map(model.tenants.map((tenant) => [tenant.name, tenant]));
    const ports = new Set(model.traffic.flat().map((frame) => frame.port));
    for (const port of ports) this.pipeline.attach(port);
    // As submitted: each program's declared registers, placed in the file's order.
    for (const tenant of model.tenants) {
      const registers = tenant.valid.program.registers ?? [];
      const pageTable = this.map.allocate(tenant.name, tenant.valid.program.name, registers);
      this.install(tenant, pageTable, Math.max(...registers.map((register) => register.size)));
    }
    this.pipeline.installPrograms(this.programs());
  }

  run(traffic: readonly IngressFrame[]): void {
    for (const frame of traffic) this.pipeline.process(frame);
  }

  /** The switch's UtilityReporter: each program's packets and misses since its last report (or its compiling). */
  closeWindow(window: number, windowEndMs: number): UtilityReportMessage[] {
    return [...this.installed].map(([tenant, installed]) => {
      const now = countsOf(installed.program);
      const packets = now.packets - installed.packets;
      const misses = Math.min(packets, now.misses - installed.misses);
      installed.packets = now.packets;
      installed.misses = now.misses;
      if (this.model.windowReset) for (const entry of Object.values(installed.pageTable)) this.memory.clear(entry);
      return {
        tenant,
        program: installed.program.name,
        window,
        windowEndMs,
        windowMs: this.model.windowMs,
        slots: installed.slots,
        packets,
        misses,
        utility: hitRatio(packets, misses),
        pipelineVersion: this.version,
        installedAtMs: this.installedAtMs,
      };
    });
  }

  /** The live loop's decision on one window's reports; true when it re-linked the pipeline. */
  reallocate(reports: readonly UtilityReportMessage[], atMs: number): boolean {
    const known = reports.filter((report) => report.packets > 0);
    if (known.length === 0) return false;
    const reporting = new Set(known.map((report) => report.tenant));
    let held = 0;
    for (const [tenant, installed] of this.installed) {
      if (reporting.has(tenant)) continue;
      held += heldCells(installed.pageTable);
    }
    const capacity = shareableSlots(this.model.stages * this.model.cellsPerStage - held, CELLS_PER_SLOT);
    const maxSlots = Math.floor(DEFAULT_TENANT_QUOTA.registerBits / BITS_PER_SLOT);
    const policy = reallocateByUtility(
      known.map(({ tenant, slots, utility }) => ({ tenant, slots, utility })),
      { ...DEFAULT_UTILITY_POLICY, capacity },
    );
    let shares = new Map([...policy].map(([tenant, slots]) => [tenant, Math.min(slots, maxSlots)]));
    for (let attempt = 1; ; attempt++) {
      try {
        return this.relink(shares, atMs);
      } catch (error) {
        // The allocator records a decision that failed to fit and keeps the pipeline in force.
        if (!(error instanceof InsufficientCapacityError)) throw error;
        if (attempt >= FIT_ATTEMPTS) return false;
        shares = shrunkShares(shares);
      }
    }
  }

  /** PipelineService.relink and the switch's install: only tenants whose page table changed start afresh. */
  private relink(shares: ReadonlyMap<string, number>, atMs: number): boolean {
    const moving = [...shares].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
    const unchanged = moving.every(([tenant, slots]) =>
      flowTableRegisters(slots).every(
        (register) => this.installed.get(tenant)?.pageTable[register.name]?.amount === register.size,
      ),
    );
    if (unchanged) return false;
    const map = this.map.clone();
    for (const [tenant] of moving) map.free(tenant);
    const pageTables = moving.map(([tenant, slots]) => {
      const name = this.tenants.get(tenant)!.valid.program.name;
      return { tenant, slots, pageTable: map.allocate(tenant, name, flowTableRegisters(slots)) };
    });
    this.map = map;
    const fresh: PageTable[] = [];
    for (const { tenant, slots, pageTable } of pageTables) {
      if (JSON.stringify(pageTable) === JSON.stringify(this.installed.get(tenant)?.pageTable)) continue;
      this.install(this.tenants.get(tenant)!, pageTable, slots);
      fresh.push(pageTable);
    }
    // A re-linked program starts from zeroed registers, never another's leftovers.
    for (const pageTable of fresh) for (const entry of Object.values(pageTable)) this.memory.clear(entry);
    this.version += 1;
    this.installedAtMs = atMs;
    this.pipeline.installPrograms(this.programs());
    return true;
  }

  private install(tenant: ScenarioTenant, pageTable: PageTable, slots: number): void {
    const program = compileLinked(tenant.valid, pageTable, this.memory, this.codes);
    this.installed.set(tenant.name, { program, pageTable, slots, packets: 0, misses: 0 });
  }

  private programs(): Map<string, CompiledProgram> {
    return new Map([...this.installed].map(([tenant, { program }]) => [tenant, program]));
  }
}
