import type { FrameView } from '@tenantlab/shared';
import type { SwitchPort } from './switch-port';

export interface FlowCacheStats {
  hits: number;
  misses: number;
  /** Valid entries pushed out to make room (the cache is bounded). */
  evictions: number;
  /** Entries found but made stale by a forwarding change (counted as misses too). */
  invalidations: number;
  flows: number;
  capacity: number;
}

/** The header fields a decision depends on: in port, both MACs, EtherType, IPv4 addresses and protocol, L4 ports. */
const KEY_WORDS = 11;
const WAYS = 4;
const EMPTY = -1;

/**
 * The exact-match microflow cache in front of the forwarding lookup (Oko, seed 000, after Open vSwitch's datapath).
 * The key is every parsed header field a decision depends on; the value is the decision. Entries carry the
 * forwarding-state generation they were computed at, and a later generation makes them stale, so a MAC move or a
 * detached port is never served from the cache.
 *
 * Laid out as a 4-way set-associative table in typed arrays. A lookup hashes the fields straight from the parser's
 * view, with no key object or string built per frame, and compares at most four stored keys. It is bounded: a full
 * set replaces its entries in turn, and each replacement is counted as an eviction.
 */
export class FlowCache<T> {
  private readonly sets: number;
  private readonly keys: Int32Array;
  private readonly generations: Float64Array;
  private readonly values: (T | undefined)[];
  private readonly victims: Uint8Array;
  private readonly stats = { hits: 0, misses: 0, evictions: 0, invalidations: 0 };
  private flows = 0;
  /** The key of the frame being decided, filled by `lookup` and reused by `insert`. */
  private readonly probe = new Int32Array(KEY_WORDS);

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < WAYS)
      throw new RangeError(`flow cache capacity must be at least ${WAYS}`);
    this.sets = 2 ** Math.ceil(Math.log2(capacity / WAYS));
    const slots = this.sets * WAYS;
    this.keys = new Int32Array(slots * KEY_WORDS);
    this.generations = new Float64Array(slots).fill(EMPTY);
    // Stryker disable next-line ArrayDeclaration: an empty array reads undefined at every slot, as the filled one does
    this.values = new Array<T | undefined>(slots).fill(undefined);
    this.victims = new Uint8Array(this.sets);
  }

  /** What is cached for this frame's flow, or undefined (a miss). Call `insert` after a miss. */
  lookup(port: SwitchPort, v: FrameView, generation: number): T | undefined {
    const probe = this.probe;
    probe[0] = port.no;
    probe[1] = v.dstMacHi;
    probe[2] = v.dstMacLo;
    probe[3] = v.srcMacHi;
    probe[4] = v.srcMacLo;
    probe[5] = v.etherType;
    probe[6] = v.ipSrc;
    probe[7] = v.ipDst;
    probe[8] = v.ipProtocol;
    probe[9] = v.srcPort;
    probe[10] = v.dstPort;
    const first = this.setOf(probe) * WAYS;
    for (let slot = first; slot < first + WAYS; slot++) {
      if (this.generations[slot] === EMPTY || !this.matches(slot)) continue;
      if (this.generations[slot] !== generation) {
        this.release(slot);
        this.stats.invalidations += 1;
        break;
      }
      this.stats.hits += 1;
      return this.values[slot];
    }
    this.stats.misses += 1;
    return undefined;
  }

  /** Stores the decision for the flow of the last `lookup` (which missed). */
  insert(generation: number, value: T): void {
    const set = this.setOf(this.probe);
    const first = set * WAYS;
    let slot = -1;
    for (let s = first; s < first + WAYS; s++) {
      if (this.generations[s] === EMPTY) {
        slot = s;
        break;
      }
    }
    if (slot === -1) {
      slot = first + this.victims[set];
      this.victims[set] = (this.victims[set] + 1) % WAYS;
      this.release(slot);
      this.stats.evictions += 1;
    }
    this.keys.set(this.probe, slot * KEY_WORDS);
    this.generations[slot] = generation;
    this.values[slot] = value;
    this.flows += 1;
  }

  snapshot(): FlowCacheStats {
    return { ...this.stats, flows: this.flows, capacity: this.sets * WAYS };
  }

  private matches(slot: number): boolean {
    const keys = this.keys;
    const probe = this.probe;
    const base = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (keys[base + i] !== probe[i]) return false;
    return true;
  }

  private release(slot: number): void {
    this.generations[slot] = EMPTY;
    this.values[slot] = undefined;
    this.flows -= 1;
  }

  /** FNV-1a over the key words, folded into the set index. */
  private setOf(key: Int32Array): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < KEY_WORDS; i++) hash = Math.imul(hash ^ key[i], 0x01000193);
    return (hash ^ (hash >>> 16)) & (this.sets - 1);
  }
}
