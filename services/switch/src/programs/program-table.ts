import {
  ConflictError,
  IPV4_ADDRESS_FIELDS,
  MAC_ADDRESS_FIELDS,
  parseConstantOrAddress,
  parseFieldConstant,
  ValidationError,
} from '@tenantlab/shared';
import { NARROW_BITS, narrowMask, type ActionArgs, type Value } from './field-access';
import type { PacketContext } from './packet-context';
import type { Constant, ParamDecl, MatchKind, TableDecl } from '@tenantlab/shared';

/** One key field's match in a table entry, in the order of the table's key. */
export interface KeyMatchInput {
  readonly value: Constant;
  /** Ternary keys only; all ones when left out. */
  readonly mask?: Constant;
  /** LPM keys only, required there: how many leading bits of `value` must match. */
  readonly prefixLength?: number;
}

/** A table entry as the control plane submits it (untrusted: checked against the table). */
export interface TableEntryInput {
  readonly key: readonly KeyMatchInput[];
  readonly action: string;
  /** One constant per param of the action, by param name. */
  readonly args?: Readonly<Record<string, Constant>>;
  /** Tables with a ternary key only: higher wins; 0 when left out. */
  readonly priority?: number;
}

/** What a table lookup found: an entry, or undefined for the default action. Opaque outside this module. */
export type TableMatch = Entry | undefined;

/** An action compiled for the packet path, with what its args must look like. */
export interface CompiledAction {
  readonly name: string;
  readonly params: readonly ParamDecl[];
  run(ctx: PacketContext, args: ActionArgs): void;
}

export interface Entry {
  /** The normalized match, for duplicates and removal. */
  readonly id: string;
  readonly seq: number;
  readonly priority: number;
  readonly prefixLength: number;
  /** Values and masks of narrow and wide key fields, in key order within each. */
  readonly narrowValues: readonly number[];
  readonly narrowMasks: readonly number[];
  readonly wideValues: readonly bigint[];
  readonly wideMasks: readonly bigint[];
  readonly action: CompiledAction;
  readonly args: ActionArgs;
}

function ones(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

/** Splits constants by width into the numbers and BigInts an ActionArgs holds. */
export function actionArgs(params: readonly ParamDecl[], values: readonly bigint[]): ActionArgs {
  const narrow: number[] = [];
  const wide: bigint[] = [];
  params.forEach((param, i) => (param.bits > NARROW_BITS ? wide.push(values[i]) : narrow.push(Number(values[i]))));
  return { narrow, wide };
}

/**
 * A match-action table on the packet path. All-exact tables are a Map (keyed by the key fields packed into one
 * number when they total 53 bits or less, else a string). A routing table (one LPM key of 32 bits or less, any other
 * keys exact, 53 bits in all) is one Map per prefix length in use, probed longest first: at most 33 probes however
 * many routes it holds. Other tables with a ternary or LPM key keep their entries sorted, highest priority first,
 * then longest prefix, then oldest, and take the first that matches (a linear scan, as a TCAM would match them all).
 */
export class ProgramTable {
  private readonly kinds: readonly MatchKind[];
  private readonly bits: readonly number[];
  private readonly exact: boolean;
  private readonly ternary: boolean;
  private readonly packed: boolean;
  /** 2^bits of each key field, to pack keys into one number. */
  private readonly scales: readonly number[];
  private readonly byKey = new Map<number | string, Entry>();
  private readonly sorted: Entry[] = [];
  /** Routing tables only: which key is the LPM one, and entries by prefix length (longest first in `lengths`). */
  private readonly lpmAt: number;
  private readonly byLength = new Map<number, Map<number, Entry>>();
  /** What `lookupRoute` probes, longest prefix first: the LPM field's mask for the length, and its routes. */
  private probes: { readonly mask: number; readonly routes: Map<number, Entry> }[] = [];
  private readonly ids = new Set<string>();
  private seq = 0;
  private readonly narrowKeys: ((ctx: PacketContext, args: ActionArgs) => number)[] = [];
  private readonly wideKeys: ((ctx: PacketContext, args: ActionArgs) => bigint)[] = [];
  private readonly narrowScratch: number[] = [];
  private readonly wideScratch: bigint[] = [];

  constructor(
    private readonly decl: TableDecl,
    keys: readonly Value[],
    private readonly actions: ReadonlyMap<string, CompiledAction>,
    private readonly defaultAction: CompiledAction,
    private readonly defaultArgs: ActionArgs,
  ) {
    this.kinds = decl.key.map((k) => k.match);
    this.bits = keys.map((k) => k.bits);
    this.exact = this.kinds.every((k) => k === 'exact');
    this.ternary = this.kinds.includes('ternary');
    this.packed = this.bits.reduce((sum, b) => sum + b, 0) <= 53;
    this.scales = this.bits.map((b) => 2 ** b);
    const lpm = this.kinds.filter((k) => k === 'lpm').length;
    const routing = !this.ternary && lpm === 1 && this.packed && this.bits.every((b) => b <= NARROW_BITS);
    this.lpmAt = routing ? this.kinds.indexOf('lpm') : -1;
    for (const key of keys) {
      if (key.wide) this.wideKeys.push(key.read);
      else this.narrowKeys.push(key.read);
    }
  }

  get size(): number {
    return this.ids.size;
  }

  /** Runs the matching entry's action, or the default action. */
  apply(ctx: PacketContext): void {
    this.runMatch(ctx, this.lookup(ctx));
  }

  /** The entry matching the packet; undefined when none does (the default action applies). */
  lookup(ctx: PacketContext): TableMatch {
    if (this.exact) return this.lookupExact(ctx);
    return this.lpmAt >= 0 ? this.lookupRoute(ctx) : this.lookupSorted(ctx);
  }

  /** Runs what `lookup` found, for this packet or (from the flow cache) an earlier packet of the same flow. */
  runMatch(ctx: PacketContext, match: TableMatch): void {
    if (match === undefined) this.defaultAction.run(ctx, this.defaultArgs);
    else match.action.run(ctx, match.args);
  }

  private lookupExact(ctx: PacketContext): Entry | undefined {
    if (this.byKey.size === 0) return undefined;
    const n = this.narrowKeys;
    const w = this.wideKeys;
    if (this.packed) {
      // Key fields in declaration order; narrow and wide readers keep that order within each kind.
      if (w.length === 0) {
        let key = 0;
        for (let i = 0; i < n.length; i++) key = key * this.scales[i] + n[i](ctx, NO_ARGS);
        return this.byKey.get(key);
      }
      let key = 0;
      let ni = 0;
      let wi = 0;
      for (let i = 0; i < this.bits.length; i++) {
        const value = this.bits[i] > NARROW_BITS ? Number(w[wi++](ctx, NO_ARGS)) : n[ni++](ctx, NO_ARGS);
        key = key * this.scales[i] + value;
      }
      return this.byKey.get(key);
    }
    let key = '';
    let ni = 0;
    let wi = 0;
    for (let i = 0; i < this.bits.length; i++) {
      key += this.bits[i] > NARROW_BITS ? `${w[wi++](ctx, NO_ARGS)},` : `${n[ni++](ctx, NO_ARGS)},`;
    }
    return this.byKey.get(key);
  }

  /** Longest prefix first: the packet's key with the LPM field cut to each length in use, looked up exactly. */
  private lookupRoute(ctx: PacketContext): Entry | undefined {
    const probes = this.probes;
    if (probes.length === 0) return undefined;
    const n = this.narrowKeys;
    const kn = this.narrowScratch;
    for (let i = 0; i < n.length; i++) kn[i] = n[i](ctx, NO_ARGS);
    const at = this.lpmAt;
    for (let p = 0; p < probes.length; p++) {
      const { mask, routes } = probes[p];
      let key = 0;
      for (let i = 0; i < n.length; i++) key = key * this.scales[i] + (i === at ? (kn[i] & mask) >>> 0 : kn[i]);
      const entry = routes.get(key);
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  private lookupSorted(ctx: PacketContext): Entry | undefined {
    const entries = this.sorted;
    if (entries.length === 0) return undefined;
    const kn = this.narrowScratch;
    const kw = this.wideScratch;
    const n = this.narrowKeys;
    const w = this.wideKeys;
    for (let i = 0; i < n.length; i++) kn[i] = n[i](ctx, NO_ARGS);
    for (let i = 0; i < w.length; i++) kw[i] = w[i](ctx, NO_ARGS);
    next: for (let e = 0; e < entries.length; e++) {
      const entry = entries[e];
      for (let i = 0; i < n.length; i++) {
        if ((kn[i] & entry.narrowMasks[i]) >>> 0 !== entry.narrowValues[i]) continue next;
      }
      for (let i = 0; i < w.length; i++) {
        if ((kw[i] & entry.wideMasks[i]) !== entry.wideValues[i]) continue next;
      }
      return entry;
    }
    return undefined;
  }

  /**
   * Adds an entry. Throws a ValidationError listing every problem with it (key arity, widths, masks, prefix
   * lengths, the action and its args, the priority), or a ConflictError when the table is full or already has an
   * entry with the same match.
   */
  addEntry(input: TableEntryInput): void {
    const problems: string[] = [];
    const match = this.parseKey(input?.key, problems);
    const action = this.parseAction(input, problems);
    const priority = this.parsePriority(input?.priority, problems);
    if (problems.length > 0 || match === undefined || action === undefined) {
      throw new ValidationError(
        `Entry for table ${this.decl.name} rejected: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}. Fix each one listed in details.`,
        problems,
      );
    }
    if (this.ids.has(match.id)) {
      throw new ConflictError(`Table ${this.decl.name} already has an entry matching ${match.id}; remove it first.`);
    }
    if (this.ids.size >= this.decl.size) {
      throw new ConflictError(
        `Table ${this.decl.name} is full (${this.decl.size} entries); remove an entry or ask for a bigger table.`,
      );
    }
    const entry: Entry = { ...match, seq: this.seq++, priority, action: action.action, args: action.args };
    this.ids.add(entry.id);
    if (this.exact) {
      this.byKey.set(this.exactKey(match.values), entry);
      return;
    }
    let at = this.sorted.length;
    while (at > 0 && ranksBefore(entry, this.sorted[at - 1])) at--;
    this.sorted.splice(at, 0, entry);
    if (this.lpmAt >= 0) this.indexRoute(entry);
  }

  private indexRoute(entry: Entry): void {
    let routes = this.byLength.get(entry.prefixLength);
    if (routes === undefined) {
      this.byLength.set(entry.prefixLength, (routes = new Map<number, Entry>()));
      this.reprobe();
    }
    routes.set(this.routeKey(entry), entry);
  }

  private unindexRoute(entry: Entry): void {
    const routes = this.byLength.get(entry.prefixLength);
    routes?.delete(this.routeKey(entry));
    if (routes?.size === 0) {
      this.byLength.delete(entry.prefixLength);
      this.reprobe();
    }
  }

  /** Rebuilds the probe list when a prefix length comes into use or goes out of it (never per packet). */
  private reprobe(): void {
    const bits = this.bits[this.lpmAt];
    const ones = narrowMask(bits);
    this.probes = [...this.byLength.keys()]
      .sort((a, b) => b - a)
      .map((length) => ({ mask: (ones ^ narrowMask(bits - length)) >>> 0, routes: this.byLength.get(length)! }));
  }

  /** An entry's values (already zero outside its prefix) packed like a packet's key in `lookupRoute`. */
  private routeKey(entry: Entry): number {
    return entry.narrowValues.reduce((key, value, i) => key * this.scales[i] + value, 0);
  }

  /** Removes the entry with this match; false when there is none. Throws a ValidationError for a malformed key. */
  removeEntry(key: readonly KeyMatchInput[]): boolean {
    const problems: string[] = [];
    const match = this.parseKey(key, problems);
    if (problems.length > 0 || match === undefined) {
      throw new ValidationError(
        `Key for table ${this.decl.name} rejected. Fix each problem listed in details.`,
        problems,
      );
    }
    if (!this.ids.delete(match.id)) return false;
    if (this.exact) {
      this.byKey.delete(this.exactKey(match.values));
      return true;
    }
    const at = this.sorted.findIndex((e) => e.id === match.id);
    const [removed] = this.sorted.splice(at, 1);
    if (this.lpmAt >= 0) this.unindexRoute(removed);
    return true;
  }

  private exactKey(values: readonly bigint[]): number | string {
    if (this.packed) return values.reduce((key, value, i) => key * this.scales[i] + Number(value), 0);
    return values.map((value) => `${value},`).join('');
  }

  private parseKey(
    key: readonly KeyMatchInput[] | undefined,
    problems: string[],
  ): (Omit<Entry, 'seq' | 'priority' | 'action' | 'args'> & { values: bigint[] }) | undefined {
    const fields = this.decl.key.map((k) => `${k.field} (${k.match})`).join(', ');
    if (!Array.isArray(key) || key.length !== this.kinds.length) {
      const got = Array.isArray(key) ? `${key.length} values` : 'no key array';
      problems.push(`key: has ${got}, table ${this.decl.name} matches on ${this.kinds.length}: ${fields || 'nothing'}`);
      return undefined;
    }
    const values: bigint[] = [];
    const masks: bigint[] = [];
    let prefixTotal = 0;
    const before = problems.length;
    this.kinds.forEach((kind, i) => {
      const path = `key[${i}] (${this.decl.key[i].field}, ${kind})`;
      const bits = this.bits[i];
      const item = key[i] as KeyMatchInput | undefined;
      const field = this.decl.key[i].field;
      const value = parseFieldConstant(field, item?.value);
      if (value === undefined) {
        const address = IPV4_ADDRESS_FIELDS.includes(field)
          ? ', or a dotted IPv4 address like 10.0.0.1'
          : MAC_ADDRESS_FIELDS.includes(field)
            ? ', or a MAC address with colons like 02:00:00:00:00:01'
            : '';
        problems.push(
          `${path}: value must be an unsigned integer (a number, decimal string or 0x hex string${address})`,
        );
        return;
      }
      if (value > ones(bits)) problems.push(`${path}: value ${item?.value} does not fit in the field's ${bits} bits`);
      let mask = ones(bits);
      if (kind !== 'ternary' && item?.mask !== undefined) problems.push(`${path}: only ternary keys take a mask`);
      if (kind !== 'lpm' && item?.prefixLength !== undefined)
        problems.push(`${path}: only lpm keys take a prefixLength`);
      if (kind === 'ternary' && item?.mask !== undefined) {
        const given = parseFieldConstant(field, item.mask);
        if (given === undefined || given > ones(bits)) problems.push(`${path}: mask must fit in ${bits} bits`);
        else mask = given;
      }
      if (kind === 'lpm') {
        const length = item?.prefixLength;
        if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > bits) {
          problems.push(`${path}: prefixLength must be a whole number from 0 to ${bits}`);
        } else {
          mask = ones(bits) ^ ones(bits - length);
          prefixTotal += length;
        }
      }
      if ((value & ~mask) !== 0n) problems.push(`${path}: value ${item?.value} has bits set outside the mask/prefix`);
      values.push(value);
      masks.push(mask);
    });
    if (problems.length > before) return undefined;
    const narrowValues: number[] = [];
    const narrowMasks: number[] = [];
    const wideValues: bigint[] = [];
    const wideMasks: bigint[] = [];
    this.bits.forEach((bits, i) => {
      if (bits > NARROW_BITS) {
        wideValues.push(values[i]);
        wideMasks.push(masks[i]);
      } else {
        narrowValues.push(Number(values[i]));
        narrowMasks.push(Number(masks[i]));
      }
    });
    const id = values.map((v, i) => `0x${v.toString(16)}/0x${masks[i].toString(16)}`).join(',');
    return { id, values, prefixLength: prefixTotal, narrowValues, narrowMasks, wideValues, wideMasks };
  }

  private parseAction(
    input: TableEntryInput | undefined,
    problems: string[],
  ): { action: CompiledAction; args: ActionArgs } | undefined {
    const name = input?.action;
    const action = typeof name === 'string' && this.decl.actions.includes(name) ? this.actions.get(name) : undefined;
    if (action === undefined) {
      problems.push(
        `action: ${String(name)} is not one of table ${this.decl.name}'s actions (${this.decl.actions.join(', ')})`,
      );
      return undefined;
    }
    const args = input?.args ?? {};
    const values = parseArgs(action, args, problems);
    return values === undefined ? undefined : { action, args: actionArgs(action.params, values) };
  }

  private parsePriority(priority: number | undefined, problems: string[]): number {
    if (priority === undefined) return 0;
    if (!this.ternary) {
      problems.push(`priority: only tables with a ternary key take one (${this.decl.name} has none)`);
    } else if (!Number.isSafeInteger(priority) || priority < 0) {
      problems.push('priority: must be a whole number, 0 or more');
    }
    return priority;
  }
}

/** Checks args against an action's params: every param given, nothing else, each fitting its width. */
export function parseArgs(
  action: CompiledAction,
  args: Readonly<Record<string, Constant>>,
  problems: string[],
): bigint[] | undefined {
  const before = problems.length;
  const values: bigint[] = [];
  for (const param of action.params) {
    const given: unknown = Object.hasOwn(args, param.name) ? args[param.name] : undefined;
    const value = parseConstantOrAddress(given);
    if (given === undefined) problems.push(`args.${param.name}: missing (action ${action.name} needs it)`);
    else if (value === undefined) {
      problems.push(
        `args.${param.name}: must be an unsigned integer constant, a dotted IPv4 address or a MAC address with colons`,
      );
    } else if (value > ones(param.bits))
      problems.push(`args.${param.name}: ${value} does not fit in ${param.bits} bits`);
    values.push(value ?? 0n);
  }
  for (const name of Object.keys(args)) {
    if (!action.params.some((p) => p.name === name))
      problems.push(`args.${name}: action ${action.name} has no such param`);
  }
  return problems.length > before ? undefined : values;
}

function ranksBefore(a: Entry, b: Entry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.prefixLength > b.prefixLength;
}

const NO_ARGS: ActionArgs = { narrow: [], wide: [] };
