import { FrameView, parseFrame, parseMac, vmMacAddress } from '@tenantlab/shared';
import {
  type CompiledProgram,
  type CpuBucket,
  type CpuBudgetOptions,
  type FlowHashes,
  PacketContext,
  type TableMatch,
  TenantCpuBudget,
} from '../programs';
import { FlowCache, type FlowCacheStats } from './flow-cache';
import { MacTable } from './mac-table';
import { StormControl, type StormControlOptions } from './storm-control';
import { SwitchCounters } from './switch-counters';
import type { DropReason, SwitchPort, Verdict } from './switch-port';

/** A frame as read from a port's tx stream. */
export interface IngressFrame {
  port: SwitchPort;
  frame: Buffer;
}

export interface PipelineOptions {
  /** 0 turns the flow cache off (every frame takes the full lookup), for the benchmark's comparison. */
  flowCacheSize: number;
  /**
   * Processing time tenant programs share (seed 000: fair CPU sharing); no budget when left out. Its clock times the
   * programs too (tests pass a simulated one).
   */
  programCpu?: CpuBudgetOptions;
  /** Each tenant's budget of flood copies (storm control); no limit when left out. */
  floods?: StormControlOptions;
  /**
   * Each port's own MAC address, the only source address its frames may carry (48 bits as a number, as `macNumber`
   * makes it): by default its VM's, from the VM's id (vmMacAddress), as every VM of the lab sends with. `false` turns
   * the check off, for tests of MAC learning with made-up addresses.
   */
  ownMacOf?: ((port: SwitchPort) => number) | false;
}

/** A MAC address `aa:bb:cc:dd:ee:ff` as the 48-bit number the MAC table keys on (FrameView's hi * 2^32 + lo). */
export function macNumber(mac: string): number {
  const { hi, lo } = parseMac(mac);
  return hi * 0x1_0000_0000 + lo;
}

/** A port's own MAC address by default: its VM's, derived from the VM's id. */
const vmMacOf = (port: SwitchPort): number => macNumber(vmMacAddress(port.vm));

/**
 * What the flow cache keeps per flow: the forwarding decision (when the tenant's program let the frame go on) and,
 * for a tenant with a flow-cacheable program, what that program's lookups found (Oko, seed 000): later packets of
 * the flow run the program's actions, which may be stateful, without its table lookups.
 */
interface CachedFlow {
  forwarding: Verdict | undefined;
  program: CompiledProgram | undefined;
  entriesGeneration: number;
  lookups: (TableMatch | null)[] | undefined;
  /** The program's hashes over flow key fields, computed once for the flow (FlowHashes). */
  hashes: FlowHashes | undefined;
}

/** What the system stage dispatches a tenant's frames to: its program and, with a CPU budget, its bucket. */
interface TenantStage {
  readonly tenant: string;
  readonly program: CompiledProgram;
  readonly bucket: CpuBucket | undefined;
}

/** VLAN ids are 12 bits: the system stage's dispatch table has one slot per id. */
const VLAN_IDS = 4096;

/**
 * How `process` runs one frame. `admitted`: the data path already admitted the frame's tx entry within its tenant's
 * CPU budget (issue 11: an entry's frames are decided together; see TenantCpuBudget.admitEntry): each frame is still
 * charged, and refused (`cpu-budget`) once the entry has run the bucket past the debt its admission allowed.
 * `charged`: the frame's entry was decided, and its frames charged to the tenant's CPU budget and storm control, by a
 * batch whose commit did not apply (it was read again): it runs without being admitted or charged a second time.
 * `timing`: filled in with where the frame's time went, ns.
 */
export interface ProcessOptions {
  admitted?: boolean;
  charged?: boolean;
  timing?: FrameTiming;
}

/** A frame's time in the pipeline's stages, ns: parse, the tenant's program, and the rest of the decision. */
export interface FrameTiming {
  parseNs: number;
  programNs: number;
  decideNs: number;
}

/** Called for each frame with its parsed headers and the switch's decision (the view is reused: copy what you keep). */
export type VerdictObserver = (frame: IngressFrame, view: FrameView, verdict: Verdict) => void;

const SAME_PORT: Verdict = { kind: 'drop', reason: 'same-port' };
const NO_DESTINATION: Verdict = { kind: 'drop', reason: 'no-destination' };
const TENANT_VLAN_TAG: Verdict = { kind: 'drop', reason: 'tenant-vlan-tag' };
const PROGRAM_DROP: Verdict = { kind: 'drop', reason: 'program-drop' };
const PROGRAM_FORWARD_UNKNOWN: Verdict = { kind: 'drop', reason: 'program-forward-unknown' };
const CPU_BUDGET: Verdict = { kind: 'drop', reason: 'cpu-budget' };
const STORM_CONTROL: Verdict = { kind: 'drop', reason: 'storm-control' };
const SPOOFED_SOURCE: Verdict = { kind: 'drop', reason: 'spoofed-source' };
// Bound once: a name imported from the shared package is a getter call on each use (CommonJS re-exports), per frame.
const parse = parseFrame;

/**
 * The switch's per-frame work, as a pipeline of small stages (Click, seed 002): parse; ingress (the frame gets its
 * tenant's VLAN from the port it came in on, and a frame with a tag of its own is dropped, so a tenant can neither pick
 * nor spoof its VLAN; a frame whose source MAC is not its port's own is dropped too, so a VM can neither take a
 * tenant-mate's address, and with it that VM's unicast traffic, nor fill its VLAN's MAC table with made-up ones and
 * make every tenant's cached decisions stale with each); the tenant's own program, if it has one (seeds 002, 004:
 * dispatched on the VLAN, run within the tenant's CPU budget; it may drop the frame or forward it to one of the
 * tenant's VMs); the flow cache; on a miss, the system stage (dispatch on VLAN id to the tenant's L2 table, which holds
 * each port's own address from its attach: learn the source, find the destination, flood within the VLAN only); storm
 * control (a flood to more than one port is charged its copies to its tenant's budget, and dropped when that is spent,
 * before any copy is made); egress (the tag is stripped: it travels as metadata, as in Open vSwitch's datapath key, and
 * never reaches a VM). Programs run on every frame, before the cache: their actions are stateful.
 */
export class SwitchPipeline {
  readonly counters = new SwitchCounters();
  readonly macTable = new MacTable();
  private readonly cache: FlowCache<CachedFlow> | undefined;
  private readonly view = new FrameView();
  /** The attached ports of each VLAN, for flooding. */
  private readonly vlanPorts = new Map<number, SwitchPort[]>();
  private readonly portsByVm = new Map<string, SwitchPort>();
  /**
   * By port number, each attached port and the verdict of a flood from it (to the other ports of its VLAN): made
   * when ports come or go, so a flood allocates nothing per frame.
   */
  private floods: ([SwitchPort, Verdict] | undefined)[] = [];
  /** By port number, each attached port and its own MAC address (see PipelineOptions.ownMacOf), made at attach. */
  private readonly ownMacs: ([SwitchPort, number] | undefined)[] = [];
  private readonly ownMacOf: ((port: SwitchPort) => number) | undefined;
  /** The system stage (seed 004): a tenant's program found by its VLAN id, with no lookup by name per frame. */
  // Stryker disable next-line ArrayDeclaration: an empty array reads undefined at every VLAN id, as the sized one does
  private stagesByVlan: (TenantStage | undefined)[] = new Array<TenantStage | undefined>(VLAN_IDS);
  private readonly stagesByTenant = new Map<string, TenantStage>();
  private readonly weights = new Map<string, number>();
  private readonly context = new PacketContext(this.view);
  private readonly cpu: TenantCpuBudget | undefined;
  /** The frame being processed: admitted by the data path already, charged before, and where to note its timing. */
  private admitted = false;
  private charged = false;
  private timing: FrameTiming | undefined;
  private readonly storm: StormControl | undefined;

  constructor(options: PipelineOptions) {
    this.cache = options.flowCacheSize > 0 ? new FlowCache(options.flowCacheSize) : undefined;
    this.cpu = options.programCpu && new TenantCpuBudget(options.programCpu);
    this.storm = options.floods && new StormControl(options.floods);
    this.ownMacOf = options.ownMacOf === false ? undefined : (options.ownMacOf ?? vmMacOf);
  }

  /**
   * Replaces the tenant programs that run. The data path calls this between batches (the event loop cannot run it
   * in the middle of one), so a batch runs entirely on one pipeline version.
   */
  installPrograms(programs: ReadonlyMap<string, CompiledProgram>): void {
    for (const tenant of this.stagesByTenant.keys()) if (!programs.has(tenant)) this.cpu?.removeTenant(tenant);
    for (const tenant of programs.keys()) {
      if (!this.stagesByTenant.has(tenant)) this.cpu?.setWeight(tenant, this.weights.get(tenant) ?? 1);
    }
    this.stagesByTenant.clear();
    for (const [tenant, program] of programs) {
      this.stagesByTenant.set(tenant, { tenant, program, bucket: this.cpu?.bucketOf(tenant) });
    }
    this.relink();
  }

  /**
   * True while the tenant's programs are over their share of processing time for a tx entry of `frames` frames from
   * `port` (see TenantCpuBudget.admitEntry): its frames must wait.
   */
  mustWait(port: SwitchPort, frames = 1): boolean {
    if (this.cpu === undefined) return false;
    const stage = this.stageOf(port);
    return stage?.bucket !== undefined && !this.cpu.admitEntry(stage.bucket, frames, this.cpu.now());
  }

  /**
   * Counts a frame the data path drops before deciding it (its tenant's wait queue was full), in `counters` (the
   * switch's totals unless the caller counts a batch apart).
   */
  drop(ingress: IngressFrame, reason: DropReason, counters = this.counters): void {
    counters.received(ingress.port, ingress.frame.length);
    counters.dropped(ingress.port, reason);
  }

  /** A tenant's share of program processing time, relative to the others' (1 unless set). */
  setCpuWeight(tenant: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight of ${tenant} must be positive`);
    this.weights.set(tenant, weight);
    // Only tenants with a program hold a bucket; the others get theirs, with this weight, when one is installed.
    if (this.stagesByTenant.has(tenant)) this.cpu?.setWeight(tenant, weight);
  }

  /**
   * Processing time each tenant's programs were charged since they were installed, in ns (with no CPU budget, none):
   * what the budget divides, so a benchmark can compare each tenant's use with its share.
   */
  programCpuNs(): Record<string, number> {
    const charged: Record<string, number> = {};
    for (const [tenant, { bucket }] of this.stagesByTenant) if (bucket) charged[tenant] = bucket.chargedNs;
    return charged;
  }

  /** The weights set so far (tenants not listed have 1). */
  cpuWeights(): ReadonlyMap<string, number> {
    return this.weights;
  }

  attach(port: SwitchPort): void {
    const ports = this.vlanPorts.get(port.vlan) ?? [];
    if (ports.some((p) => p.no === port.no)) return;
    this.vlanPorts.set(port.vlan, [...ports, port]);
    this.portsByVm.set(port.vm, port);
    // A new port changes every flood in its VLAN.
    this.macTable.forgetPort(port);
    if (this.ownMacOf) {
      const own = this.ownMacOf(port);
      this.ownMacs[port.no] = [port, own];
      // Known from the start, as no other port may send with it: a frame to a VM that has not sent yet goes to it
      // alone, never flooded to its tenant-mates.
      this.macTable.learn(port, own);
    }
    this.relink();
  }

  detach(port: SwitchPort): void {
    const ports = (this.vlanPorts.get(port.vlan) ?? []).filter((p) => p.no !== port.no);
    if (ports.length > 0) this.vlanPorts.set(port.vlan, ports);
    else this.vlanPorts.delete(port.vlan);
    if (this.portsByVm.get(port.vm)?.no === port.no) this.portsByVm.delete(port.vm);
    this.macTable.forgetPort(port);
    this.relink();
  }

  /**
   * Rebuilds the VLAN dispatch from the attached ports: each VLAN id leads to the program of the tenant its ports
   * belong to. Runs when ports or programs change, never per frame.
   */
  private relink(): void {
    // Stryker disable next-line ArrayDeclaration: an empty array reads undefined at every VLAN id, as the sized one does
    const stages = new Array<TenantStage | undefined>(VLAN_IDS);
    for (const [vlan, ports] of this.vlanPorts) stages[vlan] = this.stagesByTenant.get(ports[0].tenant);
    this.stagesByVlan = stages;
    const floods: ([SwitchPort, Verdict] | undefined)[] = [];
    for (const ports of this.vlanPorts.values())
      for (const port of ports) floods[port.no] = [port, this.floodFrom(port)];
    this.floods = floods;
  }

  /** Where a frame from `port` floods: every other attached port of its VLAN. */
  private floodFrom(port: SwitchPort): Verdict {
    const others = (this.vlanPorts.get(port.vlan) ?? []).filter((p) => p.no !== port.no);
    return others.length === 0 ? NO_DESTINATION : { kind: 'forward', outPorts: others, flooded: true };
  }

  /**
   * The tenant's stage for a frame from `port`, found by VLAN id. The operator gives every tenant a VLAN of its own;
   * should two tenants' ports ever share one, the name decides, so no frame runs under another tenant's program.
   */
  private stageOf(port: SwitchPort): TenantStage | undefined {
    const stage = this.stagesByVlan[port.vlan];
    return stage !== undefined && stage.tenant === port.tenant ? stage : this.stagesByTenant.get(port.tenant);
  }

  cacheStats(): FlowCacheStats | undefined {
    return this.cache?.snapshot();
  }

  /**
   * Decides one frame and counts it as received (and dropped, when it is) in `counters`: the switch's totals unless
   * the caller counts a batch apart (the data path does, to count a batch's frames once whatever its commit does).
   * Delivery is counted by the caller.
   */
  process(
    ingress: IngressFrame,
    observe?: VerdictObserver,
    counters = this.counters,
    options?: ProcessOptions,
  ): Verdict {
    const { port, frame } = ingress;
    const view = this.view;
    counters.received(port, frame.length);
    this.admitted = options?.admitted === true;
    this.charged = options?.charged === true;
    const timing = options?.timing;
    const started = timing ? performance.now() : 0;
    const rejected = parse(frame, view);
    if (timing) {
      const parsed = performance.now();
      timing.parseNs = (parsed - started) * 1e6;
      timing.programNs = 0;
      this.timing = timing;
      try {
        return this.processParsed(ingress, view, rejected, observe, counters);
      } finally {
        this.timing = undefined;
        timing.decideNs = (performance.now() - parsed) * 1e6 - timing.programNs;
      }
    }
    return this.processParsed(ingress, view, rejected, observe, counters);
  }

  private processParsed(
    ingress: IngressFrame,
    view: FrameView,
    rejected: ReturnType<typeof parseFrame>,
    observe: VerdictObserver | undefined,
    counters: SwitchCounters,
  ): Verdict {
    const { port, frame } = ingress;
    if (rejected !== undefined) {
      counters.dropped(port, 'malformed', rejected);
      const verdict: Verdict = { kind: 'drop', reason: 'malformed', malformed: rejected };
      observe?.(ingress, view, verdict);
      return verdict;
    }
    let verdict =
      view.vlanId !== -1 ? TENANT_VLAN_TAG : this.spoofs(port, view) ? SPOOFED_SOURCE : this.decide(port, frame, view);
    // Storm control, on the decision (a flood served from the flow cache too) and before any copy is made. Only a
    // flood goes to more than one port; one to a single port costs what a unicast frame does, and is not charged.
    if (
      this.storm !== undefined &&
      !this.charged &&
      verdict.kind === 'forward' &&
      verdict.outPorts.length > 1 &&
      !this.storm.admit(port.tenant, verdict.outPorts.length)
    ) {
      verdict = STORM_CONTROL;
    }
    if (verdict.kind === 'drop') counters.dropped(port, verdict.reason);
    observe?.(ingress, view, verdict);
    return verdict;
  }

  /**
   * Whether a frame from `port` carries a source MAC other than the port's own. Checked before the tenant's program
   * and the flow cache, so a forged frame feeds no program state and is never served a decision cached for a real one.
   */
  private spoofs(port: SwitchPort, view: FrameView): boolean {
    if (this.ownMacOf === undefined) return false;
    const own = this.ownMacs[port.no];
    // A frame read from a port detached since (its number perhaps reused) is checked against its own VM's address.
    const mac = own !== undefined && own[0] === port ? own[1] : this.ownMacOf(port);
    return view.srcMacHi * 0x1_0000_0000 + view.srcMacLo !== mac;
  }

  /**
   * The tenant's program, then forwarding. With the flow cache on, a hit serves the forwarding decision and, for a
   * flow-cacheable program, the program's remembered lookups; a miss runs both in full and remembers them.
   */
  private decide(port: SwitchPort, frame: Buffer, view: FrameView): Verdict {
    const stage = this.stageOf(port);
    const program = stage?.program;
    if (!this.cache) return this.runProgram(port, frame, stage) ?? this.lookup(port, view);
    let flow = this.cache.lookup(port, view, this.macTable.generation);
    if (flow && program && (flow.program !== program || flow.entriesGeneration !== program.entriesGeneration)) {
      flow = undefined; // another program or other entries since: its remembered lookups no longer hold
    }
    if (flow) {
      const settled = this.runProgram(port, frame, stage, flow.lookups, true, flow.hashes);
      // Learning during a lookup may move the generation on; the entry then simply misses next time.
      return settled ?? (flow.forwarding ??= this.lookup(port, view));
    }
    const remember = program?.flowCacheable ? [] : undefined;
    const hashes = remember && [];
    const settled = this.runProgram(port, frame, stage, remember, false, hashes);
    if (settled === CPU_BUDGET) return settled; // the program did not run: nothing to remember
    const forwarding = settled ? undefined : this.lookup(port, view);
    this.cache.insert(this.macTable.generation, {
      forwarding,
      program,
      entriesGeneration: program?.entriesGeneration ?? 0,
      lookups: remember,
      hashes,
    });
    return settled ?? forwarding!;
  }

  /**
   * Runs the tenant's program, if it has one, within its CPU budget: a verdict that settles the frame, or undefined
   * to forward it as usual. With `lookups`, the program remembers its lookups there, or (`remembered`) replays them.
   */
  private runProgram(
    port: SwitchPort,
    frame: Buffer,
    stage: TenantStage | undefined,
    lookups?: (TableMatch | null)[],
    remembered = false,
    hashes?: FlowHashes,
  ): Verdict | undefined {
    if (!stage) return undefined;
    const { program, bucket } = stage;
    const cpu = bucket === undefined || this.charged ? undefined : this.cpu;
    // One clock read before and one after: the first admits and starts the measurement, the second ends it.
    const started = cpu === undefined ? 0 : cpu.startFrame();
    if (cpu !== undefined && !(this.admitted ? cpu.holds(bucket!, started) : cpu.admit(bucket!, started))) {
      return CPU_BUDGET;
    }
    const timed = this.timing === undefined ? 0 : performance.now();
    const ctx = this.context.load(frame, port.no);
    const verdict =
      lookups === undefined
        ? program.run(ctx)
        : remembered
          ? program.runRemembered(ctx, lookups, hashes)
          : program.runRemembering(ctx, lookups, hashes);
    if (cpu !== undefined) {
      const ended = cpu.now();
      cpu.chargeFrame(bucket!, ended - started, ended);
    }
    if (this.timing !== undefined) this.timing.programNs += (performance.now() - timed) * 1e6;
    if (verdict.kind === 'continue') return undefined;
    if (verdict.kind === 'drop') return PROGRAM_DROP;
    const target = this.portsByVm.get(verdict.vm);
    // The validator allows only the tenant's own VMs; checked again here, since ports come and go at run time.
    if (!target || target.tenant !== port.tenant) return PROGRAM_FORWARD_UNKNOWN;
    if (target.no === port.no) return SAME_PORT;
    return { kind: 'forward', outPorts: [target], flooded: false };
  }

  /** The full lookup (the slow path): the system stage's VLAN dispatch and the tenant's L2 table. */
  private lookup(port: SwitchPort, view: FrameView): Verdict {
    const vlan = port.vlan;
    // With the source check on, a frame that got here carries its port's own address, in the table since the attach:
    // there is nothing to learn from it.
    if (this.ownMacOf === undefined && (view.srcMacHi & 0x0100) === 0) {
      this.macTable.learn(port, view.srcMacHi * 0x1_0000_0000 + view.srcMacLo);
    }
    if (!view.isMulticast()) {
      const destination = this.macTable.lookup(vlan, view.dstMacHi * 0x1_0000_0000 + view.dstMacLo);
      if (destination) {
        return destination.no === port.no ? SAME_PORT : { kind: 'forward', outPorts: [destination], flooded: false };
      }
    }
    // A frame read from a port just detached (its number perhaps reused since) floods as its own VLAN is now.
    const flood = this.floods[port.no];
    return flood !== undefined && flood[0] === port ? flood[1] : this.floodFrom(port);
  }
}
