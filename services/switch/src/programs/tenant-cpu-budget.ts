import { processPauses, type PauseSource } from './process-pauses';

/** Nanoseconds since some fixed point; inject a fake one in tests. */
export type NanoClock = () => number;

/** performance.now() in ns: a double, so reading it allocates nothing (process.hrtime.bigint() would, per frame). */
export const monotonicClock: NanoClock = () => performance.now() * 1e6;

export interface CpuBudgetOptions {
  /** Processing time handed out per second of wall-clock time, over all tenants (1e9 = one core). */
  readonly nsPerSecond: number;
  /** Most time a tenant can bank while idle, in ns: how long a burst it may run at once. */
  readonly burstNs: number;
  readonly clock?: NanoClock;
  /** Where the process's own pauses are learnt (GC, time off the CPU); the real process's by default. */
  readonly pauses?: PauseSource;
}

/** One tenant's bucket; the pipeline keeps the handle so the per-frame path needs no lookup by name. */
export interface CpuBucket {
  weight: number;
  tokens: number;
  last: number;
  /** Processing time charged to the tenant since its bucket was made, in ns: what its programs used. */
  chargedNs: number;
  /** Set when a charge emptied the bucket: the tenant runs again once it holds enough to resume (see `admit`). */
  resting: boolean;
  /** Set when a resting bucket was let run again: the next frame charged is the first of its run. */
  runStarting: boolean;
  /** What the first frame of the tenant's recent runs cost, ns (a moving average): its cold start. */
  coldStartNs: number;
  /** What a frame of the tenant's has been billed lately, ns (a moving average): what an entry's frames will cost. */
  frameCostNs: number;
  /** How deep in debt the frames of the entry admitted last may run the bucket (see `admitEntry`), ns, negative. */
  entryFloorNs: number;
}

/** A frame that ran past MAX_FRAME_CHARGE_NS: all its time left its bucket at once, the bill waits for its GC pauses. */
interface LongFrame {
  readonly bucket: CpuBucket;
  readonly startMs: number;
  readonly endMs: number;
  /** The frame's measured time less the thread's time off the CPU. */
  readonly ranNs: number;
}

/**
 * The least a tenant in debt must earn back before it runs again (half the burst when that is less): long enough a
 * run that the cold start of its first frame (measured at 20-50 µs on a loaded machine, against 1-3 µs per frame
 * after it) is a small part of what the run is charged. Dearer cold starts ask for more (RESUME_COLD_STARTS).
 */
export const MAX_RESUME_NS = 100_000;

/**
 * A frame measured longer than this may have been stopped by the process (a GC pause, the kernel running something
 * else), which is not the tenant's time: its time off the CPU is not billed, and the GC pauses within it are given
 * back once known (see `chargeFrame`). Until then its bucket holds it in full: a program slower than this per frame
 * (seed 002's long task) stops running as soon as its tenant's share is spent, not a turn of the event loop later.
 */
export const MAX_FRAME_CHARGE_NS = 100_000;
/**
 * A tenant in debt resumes only once it holds this many of its recent cold starts (and at least MAX_RESUME_NS; at
 * most MAX_COLD_RESUME_NS and half the burst). Where a program's first frame after the switch idled costs far more
 * than 20-50 µs (1 ms has been measured, on a host that ran other machines on the core while the switch idled: its
 * caches and TLB came back cold), a run of MAX_RESUME_NS would be that one frame, and a throttled tenant would pay a
 * cold start for every frame it ran. The run's length only changes how its time is spent, never what it is charged.
 */
export const RESUME_COLD_STARTS = 10;
/**
 * The most RESUME_COLD_STARTS may ask a tenant in debt to hold before it runs again. A resumed tenant runs its waiting
 * frames in one go, holding the other tenants' frames up meanwhile, so its run is kept to about what a round of the
 * switch's loop takes under load (1-7 ms measured: the isolation benchmark's switch stage): at 1 ms a cold start, half
 * of such a run is still the tenant's own work, against a tenth in a run of MAX_RESUME_NS.
 */
export const MAX_COLD_RESUME_NS = 2_000_000;
/**
 * How long a reading of the thread's time off the CPU stays the mark for the entries admitted after it, in ns. A
 * reading is two system calls (getrusage and a read of the thread's schedstat: 3-4 µs a frame of one-frame entries on
 * this machine, more than a cheap program's frame), so entries admitted within this long of the last one share it
 * instead of each reading anew. A long frame may then be forgiven time off the CPU that fell before its entry began,
 * while another entry ran, but at most this much: never more than the reading's age when its entry was admitted.
 */
export const OFF_CPU_MARK_REUSE_NS = 20_000;
/** The moving average of a tenant's cold start moves this share of the way to each run's first frame. */
const COLD_START_WEIGHT = 1 / 4;
/** Frames waiting for their GC pauses to be known, at most; past it the oldest is settled with none given back. */
const MAX_PENDING_LONG_FRAMES = 1024;
/** The moving average of a tenant's frame cost moves this share of the way to each frame's bill. */
const FRAME_COST_WEIGHT = 1 / 16;

/**
 * Fair CPU sharing between tenant programs (seed 000, Oko; seed 002's token buckets): one token bucket of processing
 * time per tenant, refilled at `weight / sum(weights)` of `nsPerSecond`, holding at most `burstNs`.
 *
 * The cost of a frame is known only after its program ran, so the dataplane asks `admit` (is the bucket above 0?), runs
 * the program, and `charge`s what it measured; the bucket may go into debt, which a tenant pays off before it runs
 * again, so one expensive frame cannot escape accounting. A tenant whose bucket a charge emptied runs again only once
 * it holds `resumeOf(bucket)` (MAX_RESUME_NS, or ten of its recent cold starts when that is more, up to 2 ms, at most
 * half the burst), and then runs its waiting frames back to back: readmitted as soon as the bucket crossed 0, it would
 * run one frame per batch, each after the switch's I/O and other tenants' work, so each would start with the program
 * cold in the CPU's caches and be charged 10-30 times what a frame run after another is (measured on this machine:
 * 20-60 µs against 1-3 µs), and a throttled tenant would starve on time its frames took only because the throttle ran
 * them one at a time. Shares are guaranteed, not work-conserving: time a tenant leaves unused is not lent to the others
 * (it banks up to the burst).
 *
 * A tx entry may carry up to MAX_FRAMES_PER_ENTRY frames, decided together (issue 11), so the data path admits an
 * entry, not a frame (`admitEntry`): its first frame as a frame is admitted, and the rest only when the bucket holds
 * what they will cost at the tenant's recent cost per frame. Its frames then run, each charged, while the bucket stays
 * above a floor of that much again and `resumeNs` in debt; frames past it are refused (`cpu-budget`), so a tenant whose
 * bucket is just above 0 cannot have a whole entry of expensive frames run past its share.
 */
export class TenantCpuBudget {
  private readonly buckets = new Map<string, CpuBucket>();
  private totalWeight = 0;
  private readonly clock: NanoClock;
  /** What an emptied bucket must hold again before its tenant runs, at the least (see MAX_RESUME_NS). */
  private readonly resumeNs: number;
  /** What an emptied bucket need never hold more than to run again, however slow its cold starts: half the burst. */
  private readonly maxResumeNs: number;
  private readonly pauses: PauseSource;
  /**
   * The thread's time off the CPU when the admitted entry's first program started (see `admitEntry`) or the last
   * frame over the cap ended, in ns; undefined until it is read, lazily, by `startFrame`.
   */
  private offCpuMarkNs: number | undefined;
  /** The budget's clock when `offCpuMarkNs` was read. */
  private offCpuMarkAtNs = -Infinity;
  private readonly pending: LongFrame[] = [];
  private settling = false;

  constructor(private readonly options: CpuBudgetOptions) {
    if (!(options.nsPerSecond > 0) || !(options.burstNs > 0)) {
      throw new RangeError('a CPU budget needs a positive rate and burst');
    }
    this.clock = options.clock ?? monotonicClock;
    this.pauses = options.pauses ?? processPauses();
    // Half the burst at most: a tenant waiting for its turn with more than it needs to resume still banks what it
    // earns meanwhile, up to the burst, instead of losing it to the cap.
    this.maxResumeNs = options.burstNs / 2;
    this.resumeNs = Math.min(this.maxResumeNs, MAX_RESUME_NS);
  }

  /** Adds a tenant with a full bucket, or changes its weight (shares of the others change with it). */
  setWeight(tenant: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight of ${tenant} must be positive`);
    this.refillAll();
    const bucket = this.buckets.get(tenant);
    if (bucket === undefined) {
      const fresh: CpuBucket = {
        weight,
        tokens: this.options.burstNs,
        last: this.clock(),
        chargedNs: 0,
        resting: false,
        runStarting: false,
        coldStartNs: 0,
        frameCostNs: 0,
        entryFloorNs: 0,
      };
      this.buckets.set(tenant, fresh);
    } else {
      this.totalWeight -= bucket.weight;
      bucket.weight = weight;
    }
    this.totalWeight += weight;
  }

  removeTenant(tenant: string): void {
    const bucket = this.buckets.get(tenant);
    if (bucket === undefined) return;
    this.refillAll();
    this.totalWeight -= bucket.weight;
    this.buckets.delete(tenant);
  }

  /** The tenant's bucket (undefined for a tenant without a weight); valid until the tenant is removed. */
  bucketOf(tenant: string): CpuBucket | undefined {
    return this.buckets.get(tenant);
  }

  /** The budget's clock, in ns. */
  now(): number {
    return this.clock();
  }

  /**
   * The budget's clock as a frame's program starts, in ns: pass it to `admit` or `holds`, and take it from the clock at
   * the frame's end for `chargeFrame`. The first frame of an admitted entry also reads the thread's time off the CPU
   * (unless a reading younger than OFF_CPU_MARK_REUSE_NS stands, see `admitEntry`), so that time the thread did not
   * run while the entry's frames ran can be told apart from their program time. (A caller that runs frames one by one
   * without `admitEntry`, as some in-process tests do, keeps the mark of the last frame over the cap: every switch runs
   * its frames by entry.)
   */
  startFrame(): number {
    if (this.offCpuMarkNs !== undefined) return this.clock();
    this.offCpuMarkNs = this.pauses.offCpuNs();
    this.offCpuMarkAtNs = this.clock();
    return this.offCpuMarkAtNs;
  }

  /**
   * Whether the bucket's tenant may run a frame at `now` (read from `now()`): while the bucket holds anything, or,
   * once a charge emptied it, when it holds `resumeOf(bucket)` again.
   */
  admit(bucket: CpuBucket, now: number): boolean {
    const tokens = this.refillAt(bucket, now);
    if (!bucket.resting) return tokens > 0;
    if (tokens < this.resumeOf(bucket)) return false;
    bucket.resting = false;
    bucket.runStarting = true;
    return true;
  }

  /**
   * What an emptied bucket must hold before its tenant runs again: RESUME_COLD_STARTS of its recent cold starts (up to
   * MAX_COLD_RESUME_NS), at least min(burst / 2, MAX_RESUME_NS) and at most half the burst.
   */
  resumeOf(bucket: CpuBucket): number {
    const coldStarts = Math.min(MAX_COLD_RESUME_NS, RESUME_COLD_STARTS * bucket.coldStartNs);
    return Math.min(this.maxResumeNs, Math.max(this.resumeNs, coldStarts));
  }

  /**
   * Whether a tx entry of `frames` frames may run now: its first frame as `admit` says, and the bucket holds what the
   * others will cost at the tenant's recent cost per frame (at most the burst, so any entry runs once the bucket is
   * full). Its frames may then run the bucket into debt by that much again and `resumeNs` (see `holds`).
   */
  admitEntry(bucket: CpuBucket, frames: number, now: number): boolean {
    if (!this.admit(bucket, now)) return false;
    const need = Math.min((frames - 1) * bucket.frameCostNs, this.options.burstNs);
    if (bucket.tokens < need) return false;
    bucket.entryFloorNs = -(need + this.resumeNs);
    // Read again before the entry's first program, unless the last reading is younger than OFF_CPU_MARK_REUSE_NS: a
    // long frame of it is forgiven the time the thread did not run while this entry ran, not while other tenants'
    // entries of the round did (but for at most that much, which a reading would cost more than it is worth).
    if (now - this.offCpuMarkAtNs > OFF_CPU_MARK_REUSE_NS) this.offCpuMarkNs = undefined;
    return true;
  }

  /** Whether the next frame of the entry `admitEntry` admitted last may still run at `now`. */
  holds(bucket: CpuBucket, now: number): boolean {
    return this.refillAt(bucket, now) > bucket.entryFloorNs;
  }

  /** Takes `costNs` from the bucket at `now`, into debt if need be (after running a frame `admit` allowed). */
  charge(bucket: CpuBucket, costNs: number, now: number): void {
    bucket.tokens = this.refillAt(bucket, now) - costNs;
    bucket.chargedNs += costNs;
    if (bucket.tokens <= 0) bucket.resting = true;
  }

  /**
   * Charges a frame whose program was measured to run `measuredNs`, ending at `now`. Up to MAX_FRAME_CHARGE_NS it is
   * billed as measured (the kernel is not asked, which would cost more than most frames). Past it, the thread's time
   * off the CPU (waiting for one, or blocked) since the entry began (or since the last such frame) is taken off, and
   * the rest is taken from the bucket at once, so that the tenant's run stops now; but only the cap is billed
   * (`chargedNs`) and counted in its cost per frame until the GC pauses within the frame are known, a turn of the event
   * loop later: then the rest less them is billed, and they go back into the bucket. Time off the CPU that fell outside
   * the frame is forgiven with it: never more than the thread was really stopped.
   */
  chargeFrame(bucket: CpuBucket, measuredNs: number, now: number): void {
    if (measuredNs <= MAX_FRAME_CHARGE_NS) {
      this.noteRunStart(bucket, measuredNs);
      bucket.frameCostNs += (measuredNs - bucket.frameCostNs) * FRAME_COST_WEIGHT;
      this.charge(bucket, measuredNs, now);
      return;
    }
    const offCpu = this.pauses.offCpuNs();
    const stoppedNs = this.offCpuMarkNs === undefined ? 0 : Math.max(0, offCpu - this.offCpuMarkNs);
    this.offCpuMarkNs = offCpu;
    this.offCpuMarkAtNs = now;
    // The time off the CPU may have been before this frame began, and be longer than it: the frame then ran for
    // nothing the process can tell apart, and is billed nothing (a negative cost would also drag the tenant's cost per
    // frame below 0, and with it the floor an entry's frames may run to above 0: every frame refused).
    const ranNs = Math.max(0, measuredNs - stoppedNs);
    this.noteRunStart(bucket, ranNs);
    bucket.frameCostNs += (Math.min(ranNs, MAX_FRAME_CHARGE_NS) - bucket.frameCostNs) * FRAME_COST_WEIGHT;
    this.charge(bucket, Math.min(ranNs, MAX_FRAME_CHARGE_NS), now);
    if (ranNs <= MAX_FRAME_CHARGE_NS) return;
    // Held back from the bucket, not yet billed: a pause would otherwise show in the tenant's figures until settled.
    bucket.tokens -= ranNs - MAX_FRAME_CHARGE_NS;
    if (bucket.tokens <= 0) bucket.resting = true;
    if (this.pending.length >= MAX_PENDING_LONG_FRAMES) this.settleFrame(this.pending.shift()!, false);
    this.pending.push({ bucket, startMs: (now - measuredNs) / 1e6, endMs: now / 1e6, ranNs });
    if (!this.settling) {
      this.settling = true;
      this.pauses.afterGcEntries(() => this.settle());
    }
  }

  /** Learns the cost of a run's first frame, when this frame is one (the GC pauses within it are not yet known). */
  private noteRunStart(bucket: CpuBucket, ranNs: number): void {
    if (!bucket.runStarting) return;
    bucket.runStarting = false;
    bucket.coldStartNs += (ranNs - bucket.coldStartNs) * COLD_START_WEIGHT;
  }

  /** Settles every pending frame, its GC pauses known. */
  private settle(): void {
    this.settling = false;
    for (const frame of this.pending.splice(0)) this.settleFrame(frame, true);
  }

  /**
   * Bills the frame's time over the cap less the GC pauses within it (when they are known), and gives those back to
   * the bucket, which had them taken at once (up to the burst, as any refill).
   */
  private settleFrame({ bucket, startMs, endMs, ranNs }: LongFrame, pausesKnown: boolean): void {
    const excessNs = ranNs - MAX_FRAME_CHARGE_NS;
    const paused = pausesKnown ? Math.min(excessNs, this.pauses.gcPauseNs(startMs, endMs)) : 0;
    bucket.chargedNs += excessNs - paused;
    bucket.frameCostNs += (excessNs - paused) * FRAME_COST_WEIGHT;
    if (paused > 0) bucket.tokens = Math.min(this.options.burstNs, this.refillAt(bucket, this.clock()) + paused);
  }

  /** Time in the tenant's bucket now, in ns (negative while in debt). */
  tokens(tenant: string): number {
    const bucket = this.buckets.get(tenant);
    return bucket === undefined ? 0 : this.refill(bucket);
  }

  private refill(bucket: CpuBucket): number {
    return this.refillAt(bucket, this.clock());
  }

  private refillAt(bucket: CpuBucket, now: number): number {
    const elapsed = now - bucket.last;
    bucket.last = now;
    // Stryker disable next-line EqualityOperator: at elapsed = 0 the refill adds nothing, so > and >= agree
    if (elapsed > 0) {
      const rate = (this.options.nsPerSecond / 1e9) * (bucket.weight / this.totalWeight);
      bucket.tokens = Math.min(this.options.burstNs, bucket.tokens + elapsed * rate);
    }
    return bucket.tokens;
  }

  /** Before the weights change: what was earned so far is earned at the old shares. */
  private refillAll(): void {
    for (const bucket of this.buckets.values()) this.refill(bucket);
  }
}
