import { ValidationError } from '@tenantlab/shared';
import {
  asNarrow,
  asWide,
  assign,
  FieldResolver,
  NARROW_BITS,
  narrowMask,
  type ActionArgs,
  type Value,
} from './field-access';
import { crc16, crc32 } from './hash-functions';
import { CONTINUE, DROP, type PacketContext, type ProgramVerdict } from './packet-context';
import {
  actionArgs,
  parseArgs,
  ProgramTable,
  type CompiledAction,
  type KeyMatchInput,
  type TableEntryInput,
  type TableMatch,
} from './program-table';
import {
  binaryWidth,
  bitLength,
  type ActionDecl,
  type Atom,
  type Constant,
  type ParamDecl,
  type Expression,
  type Op,
  type TenantProgram,
  type ValidProgram,
} from '@tenantlab/shared';
import { TenantMemoryView, type PageTable, type RegisterMemory, type RegisterSlice } from './register-memory';

/** A field value a `report` op publishes: numbers up to 32 bits, BigInts above. */
export type ReportValue = number | bigint;

/** The side effects a program can ask for; the dataplane wires them to packet traces and Kafka. */
export interface ProgramHooks {
  /** `mirror`: copy the frame to the packet trace topic. Called during `run`: copy what you keep. */
  mirror(ctx: PacketContext): void;
  /** `report`: publish `event` with the current values of its fields, by field reference. */
  report(event: string, fields: Readonly<Record<string, ReportValue>>, ctx: PacketContext): void;
}

export interface CounterValue {
  readonly packets: number;
  readonly bytes: number;
}

/**
 * A tenant program compiled for the packet path: every expression and op became a closure once, here, so `run`
 * does no interpretation of the document. Semantics:
 *
 * - metadata is 0 when `run` starts; control steps apply their tables in order, each when its guard holds;
 * - `drop` ends the program at once (no later op or table runs) and the verdict is `drop`;
 * - `forward` sets the verdict and the program goes on (a later `forward` or `drop` replaces it);
 * - register accesses go through the tenant's page table (RegisterSlice), counters are the program's own.
 */
export interface CompiledProgram {
  readonly tenant: string;
  readonly name: string;
  readonly version: number;
  readonly memory: TenantMemoryView;
  run(ctx: PacketContext): ProgramVerdict;
  /**
   * True when every lookup and guard of the program reads only header fields the switch's flow cache keys on, and
   * no action writes one: then every packet of a flow finds the same entries (until entries change), and the flow
   * cache may remember them (Oko, seed 000) so that later packets run the actions without the lookups.
   */
  readonly flowCacheable: boolean;
  /** Grows with every entry added or removed: remembered lookups hold for one generation only. */
  readonly entriesGeneration: number;
  /** `run`, also remembering in `lookups` what each control step found (null: its guard did not hold). */
  runRemembering(ctx: PacketContext, lookups: (TableMatch | null)[]): ProgramVerdict;
  /** `run` with the lookups an earlier packet of the same flow remembered: the actions run, the lookups do not. */
  runRemembered(ctx: PacketContext, lookups: readonly (TableMatch | null)[]): ProgramVerdict;
  addEntry(table: string, entry: TableEntryInput): void;
  removeEntry(table: string, key: readonly KeyMatchInput[]): boolean;
  entryCount(table: string): number;
  /** Counters are kept exact up to 2^53 (Float64Array cells): ~10^15 packets. */
  counter(name: string, index: number): CounterValue;
}

type Step = (ctx: PacketContext, args: ActionArgs) => void;

export function compileProgram(
  valid: ValidProgram,
  pageTable: PageTable,
  memory: RegisterMemory,
  hooks: ProgramHooks,
): CompiledProgram {
  return new ProgramCompiler(valid, pageTable, memory, hooks).compile();
}

class ProgramCompiler {
  private readonly fields: FieldResolver;
  private readonly view: TenantMemoryView;
  private readonly counters = new Map<string, { cells: Float64Array; size: number; kind: string }>();
  private readonly hashBytes = new Uint8Array(16 * 16);

  constructor(
    private readonly valid: ValidProgram,
    pageTable: PageTable,
    memory: RegisterMemory,
    private readonly hooks: ProgramHooks,
  ) {
    this.fields = new FieldResolver(valid.program);
    this.view = new TenantMemoryView(memory, pageTable, valid.program.registers);
    for (const { name, size, kind } of valid.program.counters) {
      this.counters.set(name, { cells: new Float64Array(kind === 'both' ? size * 2 : size), size, kind });
    }
  }

  compile(): CompiledProgram {
    const { program, tenant } = this.valid;
    const actions = new Map(program.actions.map((a) => [a.name, this.action(a)]));
    const tables = new Map<string, ProgramTable>();
    for (const decl of program.tables) {
      const keys = decl.key.map((k) => this.fields.read(k.field));
      const defaultAction = actions.get(decl.defaultAction.action);
      if (defaultAction === undefined) throw new RangeError(`unknown action ${decl.defaultAction.action}`);
      const problems: string[] = [];
      const values = parseArgs(defaultAction, decl.defaultAction.args, problems);
      if (values === undefined) {
        throw new ValidationError(`Default action of table ${decl.name} rejected.`, problems);
      }
      const args = actionArgs(defaultAction.params, values);
      tables.set(decl.name, new ProgramTable(decl, keys, actions, defaultAction, args));
    }
    const steps = program.control.map((step) => {
      const table = tables.get(step.table);
      if (table === undefined) throw new RangeError(`unknown table ${step.table}`);
      return { table, guard: step.if === undefined ? undefined : this.guard(step.if) };
    });
    const metaNarrow = this.fields.metaNarrowCount;
    const metaWide = this.fields.metaWideCount;
    const counters = this.counters;
    const flowCacheable = isFlowCacheable(program);
    let entriesGeneration = 0;
    const tableNamed = (name: string): ProgramTable => {
      const table = tables.get(name);
      if (table === undefined) throw new RangeError(`program ${program.name} has no table ${name}`);
      return table;
    };
    return {
      tenant,
      name: program.name,
      version: program.version,
      memory: this.view,
      run(ctx) {
        ctx.verdict = CONTINUE;
        ctx.resetMetadata(metaNarrow, metaWide);
        for (let i = 0; i < steps.length; i++) {
          const step = steps[i];
          if (step.guard !== undefined && !step.guard(ctx)) continue;
          step.table.apply(ctx);
          if (ctx.verdict === DROP) break;
        }
        return ctx.verdict;
      },
      flowCacheable,
      get entriesGeneration() {
        return entriesGeneration;
      },
      runRemembering(ctx, lookups) {
        ctx.verdict = CONTINUE;
        ctx.resetMetadata(metaNarrow, metaWide);
        lookups.length = steps.length;
        lookups.fill(null);
        for (let i = 0; i < steps.length; i++) {
          const step = steps[i];
          if (step.guard !== undefined && !step.guard(ctx)) continue;
          const match = step.table.lookup(ctx);
          lookups[i] = match;
          step.table.runMatch(ctx, match);
          if (ctx.verdict === DROP) break;
        }
        return ctx.verdict;
      },
      runRemembered(ctx, lookups) {
        ctx.verdict = CONTINUE;
        ctx.resetMetadata(metaNarrow, metaWide);
        for (let i = 0; i < steps.length; i++) {
          const match = lookups[i];
          if (match === null) continue;
          steps[i].table.runMatch(ctx, match);
          if (ctx.verdict === DROP) break;
        }
        return ctx.verdict;
      },
      addEntry: (table, entry) => {
        tableNamed(table).addEntry(entry);
        entriesGeneration += 1;
      },
      removeEntry: (table, key) => {
        const removed = tableNamed(table).removeEntry(key);
        if (removed) entriesGeneration += 1;
        return removed;
      },
      entryCount: (table) => tableNamed(table).size,
      counter(name, index) {
        const counter = counters.get(name);
        if (counter === undefined) throw new RangeError(`program ${program.name} has no counter ${name}`);
        const at = wrapIndex(index, counter.size);
        const { cells, kind } = counter;
        if (kind === 'both') return { packets: cells[at * 2], bytes: cells[at * 2 + 1] };
        return kind === 'packets' ? { packets: cells[at], bytes: 0 } : { packets: 0, bytes: cells[at] };
      },
    };
  }

  private guard(guard: { field: string; op: '==' | '!='; value: Constant }): (ctx: PacketContext) => boolean {
    const field = this.fields.read(guard.field);
    const expected = BigInt(guard.value);
    const equal = guard.op === '==';
    if (field.wide) {
      const read = field.read;
      return (ctx) => (read(ctx, NO_ARGS) === expected) === equal;
    }
    const read = field.read;
    const number = Number(expected);
    return (ctx) => (read(ctx, NO_ARGS) === number) === equal;
  }

  private action(decl: ActionDecl): CompiledAction {
    const ops = decl.ops.map((op) => this.op(op, decl.params));
    const count = ops.length;
    return {
      name: decl.name,
      params: decl.params,
      run(ctx, args) {
        for (let i = 0; i < count; i++) {
          ops[i](ctx, args);
          if (ctx.verdict === DROP) return;
        }
      },
    };
  }

  private op(op: Op, params: readonly ParamDecl[]): Step {
    switch (op.op) {
      case 'set':
        return assign(this.fields.write(op.target), this.expression(op.value, params));
      case 'hash':
        return this.hash(op.algorithm, op.fields, op.bound, op.into);
      case 'register.read': {
        const slice = this.view.slice(op.register);
        const cell = this.cell(slice, this.expression(op.index, params));
        const value: Value =
          slice.width > NARROW_BITS
            ? { wide: true, bits: slice.width, read: (ctx, args) => slice.readWide(cell(ctx, args)) }
            : { wide: false, bits: slice.width, read: (ctx, args) => slice.readNarrow(cell(ctx, args)) };
        return assign(this.fields.write(op.into), value);
      }
      case 'register.write': {
        const slice = this.view.slice(op.register);
        const cell = this.cell(slice, this.expression(op.index, params));
        const value = this.expression(op.value, params);
        if (slice.width > NARROW_BITS) {
          const read = asWide(value);
          const width = slice.width;
          return (ctx, args) => slice.writeWide(cell(ctx, args), BigInt.asUintN(width, read(ctx, args)));
        }
        const read = asNarrow(value, slice.width);
        return (ctx, args) => slice.writeNarrow(cell(ctx, args), read(ctx, args));
      }
      case 'register.add':
        return this.registerAdd(op.register, op.index, op.value, op.into, params);
      case 'counter.count':
        return this.count(op.counter, this.expression(op.index, params));
      case 'drop':
        return (ctx) => (ctx.verdict = DROP);
      case 'forward': {
        const verdict: ProgramVerdict = Object.freeze({ kind: 'forward', vm: op.to });
        return (ctx) => (ctx.verdict = verdict);
      }
      case 'mirror': {
        const hooks = this.hooks;
        return (ctx) => hooks.mirror(ctx);
      }
      case 'report': {
        const readers = op.fields.map((ref) => [ref, this.fields.read(ref)] as const);
        const hooks = this.hooks;
        const event = op.event;
        return (ctx, args) => {
          const values: Record<string, ReportValue> = {};
          for (const [ref, value] of readers) values[ref] = value.read(ctx, args);
          hooks.report(event, values, ctx);
        };
      }
    }
  }

  private registerAdd(
    register: string,
    index: Expression,
    delta: Expression,
    into: string | undefined,
    params: readonly ParamDecl[],
  ): Step {
    const slice = this.view.slice(register);
    const cell = this.cell(slice, this.expression(index, params));
    const value = this.expression(delta, params);
    if (slice.width > NARROW_BITS) {
      const read = asWide(value);
      if (into === undefined) return (ctx, args) => void slice.addWide(cell(ctx, args), read(ctx, args));
      const store = assign(this.fields.write(into), {
        wide: true,
        bits: slice.width,
        read: (ctx, args) => slice.addWide(cell(ctx, args), read(ctx, args)),
      });
      return store;
    }
    const read = asNarrow(value, slice.width);
    if (into === undefined) return (ctx, args) => void slice.addNarrow(cell(ctx, args), read(ctx, args));
    return assign(this.fields.write(into), {
      wide: false,
      bits: slice.width,
      read: (ctx, args) => slice.addNarrow(cell(ctx, args), read(ctx, args)),
    });
  }

  private cell(slice: RegisterSlice, index: Value): (ctx: PacketContext, args: ActionArgs) => number {
    if (index.wide) {
      const read = index.read;
      return (ctx, args) => slice.cellOfBig(read(ctx, args));
    }
    const read = index.read;
    return (ctx, args) => slice.cell(read(ctx, args));
  }

  private count(name: string, index: Value): Step {
    const counter = this.counters.get(name);
    if (counter === undefined) throw new RangeError(`unknown counter ${name}`);
    const { cells, size, kind } = counter;
    const at = index.wide
      ? (
          (read) => (ctx: PacketContext, args: ActionArgs) =>
            Number(read(ctx, args) % BigInt(size))
        )(index.read)
      : (
          (read) => (ctx: PacketContext, args: ActionArgs) =>
            wrapIndex(read(ctx, args), size)
        )(index.read);
    if (kind === 'packets') return (ctx, args) => void (cells[at(ctx, args)] += 1);
    if (kind === 'bytes') return (ctx, args) => void (cells[at(ctx, args)] += ctx.view.length);
    return (ctx, args) => {
      const i = at(ctx, args) * 2;
      cells[i] += 1;
      cells[i + 1] += ctx.view.length;
    };
  }

  /**
   * `into := algorithm(fields concatenated, most significant first) % bound`. The concatenation is hashed as the
   * big-endian bytes of one number of ceil(total bits / 8) bytes (so byte-aligned fields hash as their bytes).
   */
  private hash(algorithm: string, refs: readonly string[], bound: number, into: string): Step {
    const values = refs.map((ref) => this.fields.read(ref));
    const target = this.fields.write(into);
    const totalBits = values.reduce((sum, v) => sum + v.bits, 0);
    const result: Value = { wide: false, bits: 32, read: this.hashValue(algorithm, values, totalBits, bound) };
    return assign(target, result);
  }

  private hashValue(
    algorithm: string,
    values: readonly Value[],
    totalBits: number,
    bound: number,
  ): (ctx: PacketContext, args: ActionArgs) => number {
    if (algorithm === 'identity') {
      if (values.length === 1 && !values[0].wide) {
        const read = values[0].read;
        return (ctx, args) => read(ctx, args) % bound;
      }
      const concat = concatenation(values);
      const big = BigInt(bound);
      return (ctx, args) => Number(concat(ctx, args) % big);
    }
    const crc = algorithm === 'crc32' ? crc32 : crc16;
    const bytes = this.hashBytes;
    const length = Math.ceil(totalBits / 8);
    if (values.every((v) => v.bits % 8 === 0 && !v.wide)) {
      // The common case (addresses, ports, protocol): each field writes its own bytes, no BigInt.
      const writers = values.map((v) => ({
        read: v.read as (c: PacketContext, a: ActionArgs) => number,
        n: v.bits / 8,
      }));
      return (ctx, args) => {
        let at = 0;
        for (const { read, n } of writers) {
          const value = read(ctx, args);
          for (let i = n - 1; i >= 0; i--) bytes[at + i] = (value >>> ((n - 1 - i) * 8)) & 0xff;
          at += n;
        }
        return crc(bytes, length) % bound;
      };
    }
    const concat = concatenation(values);
    return (ctx, args) => {
      let acc = concat(ctx, args);
      for (let i = length - 1; i >= 0; i--, acc >>= 8n) bytes[i] = Number(acc & 0xffn);
      return crc(bytes, length) % bound;
    };
  }

  private expression(expression: Expression, params: readonly ParamDecl[]): Value {
    if (!('op' in expression)) return this.atom(expression, params);
    const left = this.atom(expression.left, params);
    const right = this.atom(expression.right, params);
    const rightConstant = 'const' in expression.right ? BigInt(expression.right.const) : undefined;
    const bits = binaryWidth(expression.op, left.bits, right.bits, rightConstant);
    if (bits <= NARROW_BITS && !left.wide && !right.wide)
      return narrowBinary(expression.op, bits, left.read, right.read);
    const wide = wideBinary(expression.op, bits, asWide(left), asWide(right));
    if (bits > NARROW_BITS) return { wide: true, bits, read: wide };
    return { wide: false, bits, read: (ctx, args) => Number(wide(ctx, args)) };
  }

  private atom(atom: Atom, params: readonly ParamDecl[]): Value {
    if ('const' in atom) {
      const value = BigInt(atom.const);
      const bits = bitLength(value);
      if (bits > NARROW_BITS) return { wide: true, bits, read: () => value };
      const number = Number(value);
      return { wide: false, bits, read: () => number };
    }
    if ('field' in atom) return this.fields.read(atom.field);
    const at = params.findIndex((p) => p.name === atom.param);
    if (at < 0) throw new RangeError(`unknown param ${atom.param}`);
    const bits = params[at].bits;
    const slot = params.slice(0, at).filter((p) => p.bits > NARROW_BITS === bits > NARROW_BITS).length;
    return bits > NARROW_BITS
      ? { wide: true, bits, read: (_ctx, args) => args.wide[slot] }
      : { wide: false, bits, read: (_ctx, args) => args.narrow[slot] };
  }
}

type NarrowFn = (ctx: PacketContext, args: ActionArgs) => number;
type WideFn = (ctx: PacketContext, args: ActionArgs) => bigint;

function narrowBinary(op: string, bits: number, l: NarrowFn, r: NarrowFn): Value {
  const mask = narrowMask(bits);
  let read: NarrowFn;
  switch (op) {
    case '&':
      read = (c, a) => (l(c, a) & r(c, a)) >>> 0;
      break;
    case '|':
      read = (c, a) => (l(c, a) | r(c, a)) >>> 0;
      break;
    case '^':
      read = (c, a) => (l(c, a) ^ r(c, a)) >>> 0;
      break;
    case '+':
      read = (c, a) => ((l(c, a) + r(c, a)) & mask) >>> 0;
      break;
    case '-':
      read = (c, a) => ((l(c, a) - r(c, a)) & mask) >>> 0;
      break;
    case '<<':
      // JavaScript shifts by the count mod 32; a count of 32 or more leaves nothing of a 32-bit value.
      read = (c, a) => {
        const n = r(c, a);
        return n >= 32 ? 0 : ((l(c, a) << n) & mask) >>> 0;
      };
      break;
    default:
      read = (c, a) => {
        const n = r(c, a);
        return n >= 32 ? 0 : l(c, a) >>> n;
      };
  }
  return { wide: false, bits, read };
}

function wideBinary(op: string, bits: number, l: WideFn, r: WideFn): WideFn {
  switch (op) {
    case '&':
      return (c, a) => l(c, a) & r(c, a);
    case '|':
      return (c, a) => l(c, a) | r(c, a);
    case '^':
      return (c, a) => l(c, a) ^ r(c, a);
    case '+':
      return (c, a) => BigInt.asUintN(bits, l(c, a) + r(c, a));
    case '-':
      return (c, a) => BigInt.asUintN(bits, l(c, a) - r(c, a));
    case '<<':
      // A count from a 64-bit field could ask for a 2^64-bit number; past the width nothing is left anyway.
      return (c, a) => {
        const n = r(c, a);
        return n >= BigInt(bits) ? 0n : BigInt.asUintN(bits, l(c, a) << n);
      };
    default:
      return (c, a) => {
        const n = r(c, a);
        return n >= 128n ? 0n : l(c, a) >> n;
      };
  }
}

/** The fields as one number, most significant first. */
function concatenation(values: readonly Value[]): WideFn {
  const parts = values.map((v) => ({ read: asWide(v), shift: BigInt(v.bits) }));
  return (ctx, args) => {
    let acc = 0n;
    for (const { read, shift } of parts) acc = (acc << shift) | read(ctx, args);
    return acc;
  };
}

function wrapIndex(index: number, size: number): number {
  let at = Math.trunc(index) % size;
  if (at !== at) at = 0;
  else if (at < 0) at += size;
  return at;
}

const NO_ARGS: ActionArgs = { narrow: [], wide: [] };

/**
 * The header fields the switch's flow cache keys on: a lookup or guard reading only these gives the same answer for
 * every packet of a flow. Metadata, tenant headers and lengths vary per packet.
 */
const FLOW_KEY_FIELDS: ReadonlySet<string> = new Set([
  'std.in_port',
  'eth.src',
  'eth.dst',
  'eth.type',
  'ipv4.src',
  'ipv4.dst',
  'ipv4.proto',
  'l4.sport',
  'l4.dport',
]);

function isFlowCacheable(program: TenantProgram): boolean {
  const writesFlowField = program.actions.some((action) =>
    action.ops.some((op) => op.op === 'set' && FLOW_KEY_FIELDS.has(op.target)),
  );
  const readsOnlyFlowFields =
    program.tables.every((table) => table.key.every((key) => FLOW_KEY_FIELDS.has(key.field))) &&
    program.control.every((step) => step.if === undefined || FLOW_KEY_FIELDS.has(step.if.field));
  // A step skipped at the first packet (guard false) stays skipped, and a drop ends the program at the same step:
  // both follow from the same header fields, so what was remembered is what this packet would have found.
  return readsOnlyFlowFields && !writesFlowField;
}
