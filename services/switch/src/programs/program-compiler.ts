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
import {
  CONTINUE,
  DROP,
  type PacketContext,
  type ProgramHooks,
  type ProgramState,
  type ProgramVerdict,
  type ReportValue,
} from './packet-context';
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
  type TableDecl,
  type TenantProgram,
  type ValidProgram,
} from '@tenantlab/shared';
import { TenantMemoryView, type PageTable, type RegisterMemory } from './register-memory';

export interface CounterValue {
  readonly packets: number;
  readonly bytes: number;
}

/**
 * A tenant program compiled for the packet path: every expression and op became a closure once, so `run` does no
 * interpretation of the document. Semantics:
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
  /**
   * `run`, also remembering in `lookups` what each control step found (null: its guard did not hold) and, in `hashes`,
   * the value of each hash op over flow key fields only (see FlowHashes).
   */
  runRemembering(ctx: PacketContext, lookups: (TableMatch | null)[], hashes?: FlowHashes): ProgramVerdict;
  /**
   * `run` with the lookups an earlier packet of the same flow remembered: the actions run, the lookups do not, and a
   * hash of flow key fields that packet computed is taken from `hashes` instead of computed again.
   */
  runRemembered(ctx: PacketContext, lookups: readonly (TableMatch | null)[], hashes?: FlowHashes): ProgramVerdict;
  addEntry(table: string, entry: TableEntryInput): void;
  removeEntry(table: string, key: readonly KeyMatchInput[]): boolean;
  entryCount(table: string): number;
  /** Counters are kept exact up to 2^53 (Float64Array cells): ~10^15 packets. */
  counter(name: string, index: number): CounterValue;
}

/**
 * A program's code, compiled once and shared by every tenant that runs the same document (Click's merged
 * configurations, seed 002; seed 004's linked pipeline): its closures hold the program's structure only and reach
 * the running tenant's registers, counters, tables and hooks through `ctx.state`, which `instantiate`'s program
 * sets before each run. One shared code keeps the JIT's view of the packet path the same for 1 tenant or 10.
 */
export interface ProgramCode {
  readonly program: TenantProgram;
  readonly flowCacheable: boolean;
  /** This code with one tenant's state: its page table over `memory`, fresh counters and empty tables. */
  instantiate(tenant: string, pageTable: PageTable, memory: RegisterMemory, hooks: ProgramHooks): CompiledProgram;
}

type Step = (ctx: PacketContext, args: ActionArgs) => void;

/**
 * The values of a flow-cacheable program's hash ops whose fields are all flow key fields, by op (Oko, seed 000: what
 * depends only on the flow's key is computed once per flow). In such a program no action writes a flow key field,
 * so each packet of the flow hashes the same bytes to the same value; a slot the first packet did not reach (its
 * action did not run) is computed, and kept, by the first packet that does.
 */
export type FlowHashes = number[];

/** Compiles a checked program into closures and gives them one tenant's state (no code shared with others). */
export function compileProgram(
  valid: ValidProgram,
  pageTable: PageTable,
  memory: RegisterMemory,
  hooks: ProgramHooks,
  codes?: ProgramCodeCache,
): CompiledProgram {
  const code = codes ? codes.codeFor(valid.program) : compileProgramCode(valid.program);
  return code.instantiate(valid.tenant, pageTable, memory, hooks);
}

export function compileProgramCode(program: TenantProgram): ProgramCode {
  return new ProgramCompiler(program).compile();
}

/**
 * Compiled code by program document, so tenants that submit the same program share its code. The switch keeps one
 * and, after each pipeline version, `retain`s only what that version runs.
 */
export class ProgramCodeCache {
  private readonly codes = new Map<string, ProgramCode>();

  codeFor(program: TenantProgram): ProgramCode {
    const key = JSON.stringify(program);
    let code = this.codes.get(key);
    if (code === undefined) this.codes.set(key, (code = compileProgramCode(program)));
    return code;
  }

  /** Forgets the code of every program not in `programs`. */
  retain(programs: Iterable<TenantProgram>): void {
    const keep = new Set([...programs].map((program) => JSON.stringify(program)));
    for (const key of this.codes.keys()) if (!keep.has(key)) this.codes.delete(key);
  }

  get size(): number {
    return this.codes.size;
  }
}

interface CounterLayout {
  readonly index: number;
  readonly size: number;
  readonly kind: string;
}

/** What a control step runs: the index of its table in the tenant's state, when its guard (if any) holds. */
interface ControlStep {
  readonly table: number;
  readonly guard: ((ctx: PacketContext) => boolean) | undefined;
}

/** The tenant-independent parts of a table: its key readers, actions and default action, built once per code. */
interface TableCode {
  readonly decl: TableDecl;
  readonly keys: readonly Value[];
  readonly actions: ReadonlyMap<string, CompiledAction>;
  readonly defaultAction: CompiledAction;
  readonly defaultArgs: ActionArgs;
}

class ProgramCompiler {
  private readonly fields: FieldResolver;
  private readonly registers: ReadonlyMap<string, { readonly index: number; readonly width: number }>;
  private readonly counters = new Map<string, CounterLayout>();
  private readonly hashBytes = new Uint8Array(16 * 16);
  /** Hash ops over flow key fields only, numbered: each one's slot in a flow's FlowHashes. */
  private flowHashes = 0;

  constructor(private readonly program: TenantProgram) {
    this.fields = new FieldResolver(program);
    this.registers = new Map(program.registers.map(({ name, width }, index) => [name, { index, width }]));
    program.counters.forEach(({ name, size, kind }, index) => this.counters.set(name, { index, size, kind }));
  }

  compile(): ProgramCode {
    const program = this.program;
    const actions = new Map(program.actions.map((a) => [a.name, this.action(a)]));
    const tables: TableCode[] = program.tables.map((decl) => {
      const keys = decl.key.map((k) => this.fields.read(k.field));
      const defaultAction = actions.get(decl.defaultAction.action);
      if (defaultAction === undefined) throw new RangeError(`unknown action ${decl.defaultAction.action}`);
      const problems: string[] = [];
      const values = parseArgs(defaultAction, decl.defaultAction.args, problems);
      if (values === undefined) {
        throw new ValidationError(`Default action of table ${decl.name} rejected.`, problems);
      }
      return { decl, keys, actions, defaultAction, defaultArgs: actionArgs(defaultAction.params, values) };
    });
    const tableIndex = new Map(program.tables.map((t, i) => [t.name, i]));
    const steps: ControlStep[] = program.control.map((step) => {
      const table = tableIndex.get(step.table);
      if (table === undefined) throw new RangeError(`unknown table ${step.table}`);
      return { table, guard: step.if === undefined ? undefined : this.guard(step.if) };
    });
    return new SharedProgramCode(
      program,
      steps,
      tables,
      tableIndex,
      this.counters,
      this.fields.metaNarrowCount,
      this.fields.metaWideCount,
    );
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
        const { index: k, width } = this.register(op.register);
        const cell = this.cell(k, this.expression(op.index, params));
        const value: Value =
          // Stryker disable next-line ConditionalExpression,EqualityOperator: a register of 32 bits or fewer read through the BigInt path gives the same value
          width > NARROW_BITS
            ? // Stryker disable next-line BooleanLiteral: a register wider than 32 bits is only read into a target as wide, which takes its BigInt either way
              { wide: true, bits: width, read: (ctx, args) => ctx.state.slices[k].readWide(cell(ctx, args)) }
            : { wide: false, bits: width, read: (ctx, args) => ctx.state.slices[k].readNarrow(cell(ctx, args)) };
        return assign(this.fields.write(op.into), value);
      }
      case 'register.write': {
        const { index: k, width } = this.register(op.register);
        const cell = this.cell(k, this.expression(op.index, params));
        const value = this.expression(op.value, params);
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a register of 32 bits or fewer written through the BigInt path keeps the same value
        if (width > NARROW_BITS) {
          const read = asWide(value);
          return (ctx, args) => ctx.state.slices[k].writeWide(cell(ctx, args), BigInt.asUintN(width, read(ctx, args)));
        }
        const read = asNarrow(value, width);
        return (ctx, args) => ctx.state.slices[k].writeNarrow(cell(ctx, args), read(ctx, args));
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
      case 'mirror':
        return (ctx) => ctx.state.hooks.mirror(ctx);
      case 'report': {
        const readers = op.fields.map((ref) => [ref, this.fields.read(ref)] as const);
        const event = op.event;
        return (ctx, args) => {
          const values: Record<string, ReportValue> = {};
          for (const [ref, value] of readers) values[ref] = value.read(ctx, args);
          ctx.state.hooks.report(event, values, ctx);
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
    const { index: k, width } = this.register(register);
    const cell = this.cell(k, this.expression(index, params));
    const value = this.expression(delta, params);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a register of 32 bits or fewer added to through the BigInt path gives the same value
    if (width > NARROW_BITS) {
      const read = asWide(value);
      if (into === undefined) return (ctx, args) => void ctx.state.slices[k].addWide(cell(ctx, args), read(ctx, args));
      return assign(this.fields.write(into), {
        // Stryker disable next-line BooleanLiteral: the sum of a register wider than 32 bits is only stored into a target as wide, which takes its BigInt either way
        wide: true,
        bits: width,
        read: (ctx, args) => ctx.state.slices[k].addWide(cell(ctx, args), read(ctx, args)),
      });
    }
    const read = asNarrow(value, width);
    if (into === undefined) return (ctx, args) => void ctx.state.slices[k].addNarrow(cell(ctx, args), read(ctx, args));
    return assign(this.fields.write(into), {
      wide: false,
      bits: width,
      read: (ctx, args) => ctx.state.slices[k].addNarrow(cell(ctx, args), read(ctx, args)),
    });
  }

  private register(name: string): { readonly index: number; readonly width: number } {
    const register = this.registers.get(name);
    if (register === undefined) throw new RangeError(`unknown register ${name}`);
    return register;
  }

  /** The cell an index maps to in the running tenant's slice `k` of the register (its page-table translation). */
  private cell(k: number, index: Value): (ctx: PacketContext, args: ActionArgs) => number {
    if (index.wide) {
      const read = index.read;
      return (ctx, args) => ctx.state.slices[k].cellOfBig(read(ctx, args));
    }
    const read = index.read;
    return (ctx, args) => ctx.state.slices[k].cell(read(ctx, args));
  }

  private count(name: string, index: Value): Step {
    const counter = this.counters.get(name);
    if (counter === undefined) throw new RangeError(`unknown counter ${name}`);
    const { index: k, size, kind } = counter;
    const at = index.wide
      ? (
          (read) => (ctx: PacketContext, args: ActionArgs) =>
            Number(read(ctx, args) % BigInt(size))
        )(index.read)
      : (
          (read) => (ctx: PacketContext, args: ActionArgs) =>
            wrapIndex(read(ctx, args), size)
        )(index.read);
    if (kind === 'packets') return (ctx, args) => void (ctx.state.counters[k][at(ctx, args)] += 1);
    if (kind === 'bytes') return (ctx, args) => void (ctx.state.counters[k][at(ctx, args)] += ctx.view.length);
    return (ctx, args) => {
      const cells = ctx.state.counters[k];
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
    const compute = this.hashValue(algorithm, values, totalBits, bound);
    const read = refs.every((ref) => FLOW_KEY_FIELDS.has(ref)) ? perFlow(compute, this.flowHashes++) : compute;
    return assign(target, { wide: false, bits: 32, read });
  }

  private hashValue(
    algorithm: string,
    values: readonly Value[],
    totalBits: number,
    bound: number,
  ): (ctx: PacketContext, args: ActionArgs) => number {
    if (algorithm === 'identity') {
      // Stryker disable next-line ConditionalExpression,BlockStatement: without this fast path one field is hashed through the concatenation, to the same hash
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
    // Stryker disable next-line ConditionalExpression,BlockStatement,ArrowFunction,ArithmeticOperator: without this fast path the bytes come from the concatenation, the same bytes
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
          const last = n - 1;
          for (let i = last; i >= 0; i--) bytes[at + i] = (value >>> ((last - i) * 8)) & 0xff;
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
    // Stryker disable next-line StringLiteral: without the constant the width is the wider bound, and the value is the same
    const rightConstant = 'const' in expression.right ? BigInt(expression.right.const) : undefined;
    const bits = binaryWidth(expression.op, left.bits, right.bits, rightConstant);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a result of 32 bits or fewer computed through the BigInt path is the same value
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

/** The compiled code of one program document; see ProgramCode. */
class SharedProgramCode implements ProgramCode {
  readonly flowCacheable: boolean;

  constructor(
    readonly program: TenantProgram,
    private readonly steps: readonly ControlStep[],
    readonly tables: readonly TableCode[],
    readonly tableIndex: ReadonlyMap<string, number>,
    readonly counters: ReadonlyMap<string, CounterLayout>,
    private readonly metaNarrow: number,
    private readonly metaWide: number,
  ) {
    this.flowCacheable = isFlowCacheable(program);
  }

  instantiate(tenant: string, pageTable: PageTable, memory: RegisterMemory, hooks: ProgramHooks): CompiledProgram {
    const view = new TenantMemoryView(memory, pageTable, this.program.registers);
    const state: ProgramState = {
      slices: this.program.registers.map(({ name }) => view.slice(name)),
      // Stryker disable next-line ConditionalExpression: a counter array bigger than needed gives the same counts
      counters: this.program.counters.map(({ size, kind }) => new Float64Array(kind === 'both' ? size * 2 : size)),
      tables: this.tables.map((t) => new ProgramTable(t.decl, t.keys, t.actions, t.defaultAction, t.defaultArgs)),
      hooks,
    };
    return new ProgramInstance(tenant, this, view, state);
  }

  /** Runs the program on the tenant state `ctx.state` holds. */
  run(ctx: PacketContext): ProgramVerdict {
    ctx.verdict = CONTINUE;
    ctx.flowHashes = undefined;
    ctx.resetMetadata(this.metaNarrow, this.metaWide);
    const steps = this.steps;
    const tables = ctx.state.tables;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step.guard !== undefined && !step.guard(ctx)) continue;
      tables[step.table].apply(ctx);
      if (ctx.verdict === DROP) break;
    }
    return ctx.verdict;
  }

  runRemembering(ctx: PacketContext, lookups: (TableMatch | null)[], hashes?: FlowHashes): ProgramVerdict {
    ctx.verdict = CONTINUE;
    // Only where no action writes a flow key field does a flow hash the same bytes on every packet.
    ctx.flowHashes = this.flowCacheable ? hashes : undefined;
    ctx.resetMetadata(this.metaNarrow, this.metaWide);
    const steps = this.steps;
    const tables = ctx.state.tables;
    lookups.length = steps.length;
    lookups.fill(null);
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step.guard !== undefined && !step.guard(ctx)) continue;
      const table = tables[step.table];
      const match = table.lookup(ctx);
      lookups[i] = match;
      table.runMatch(ctx, match);
      if (ctx.verdict === DROP) break;
    }
    return ctx.verdict;
  }

  runRemembered(ctx: PacketContext, lookups: readonly (TableMatch | null)[], hashes?: FlowHashes): ProgramVerdict {
    ctx.verdict = CONTINUE;
    // Only where no action writes a flow key field does a flow hash the same bytes on every packet.
    ctx.flowHashes = this.flowCacheable ? hashes : undefined;
    ctx.resetMetadata(this.metaNarrow, this.metaWide);
    const steps = this.steps;
    const tables = ctx.state.tables;
    for (let i = 0; i < steps.length; i++) {
      const match = lookups[i];
      if (match === null) continue;
      tables[steps[i].table].runMatch(ctx, match);
      if (ctx.verdict === DROP) break;
    }
    return ctx.verdict;
  }
}

/** One tenant's program: shared code and the tenant's own state, which it hands the code for every run. */
class ProgramInstance implements CompiledProgram {
  readonly name: string;
  readonly version: number;
  readonly flowCacheable: boolean;
  entriesGeneration = 0;

  constructor(
    readonly tenant: string,
    private readonly code: SharedProgramCode,
    readonly memory: TenantMemoryView,
    private readonly state: ProgramState,
  ) {
    this.name = code.program.name;
    this.version = code.program.version;
    this.flowCacheable = code.flowCacheable;
  }

  run(ctx: PacketContext): ProgramVerdict {
    ctx.state = this.state;
    return this.code.run(ctx);
  }

  runRemembering(ctx: PacketContext, lookups: (TableMatch | null)[], hashes?: FlowHashes): ProgramVerdict {
    ctx.state = this.state;
    return this.code.runRemembering(ctx, lookups, hashes);
  }

  runRemembered(ctx: PacketContext, lookups: readonly (TableMatch | null)[], hashes?: FlowHashes): ProgramVerdict {
    ctx.state = this.state;
    return this.code.runRemembered(ctx, lookups, hashes);
  }

  addEntry(table: string, entry: TableEntryInput): void {
    this.table(table).addEntry(entry);
    this.entriesGeneration += 1;
  }

  removeEntry(table: string, key: readonly KeyMatchInput[]): boolean {
    const removed = this.table(table).removeEntry(key);
    if (removed) this.entriesGeneration += 1;
    return removed;
  }

  entryCount(table: string): number {
    return this.table(table).size;
  }

  counter(name: string, index: number): CounterValue {
    const layout = this.code.counters.get(name);
    if (layout === undefined) throw new RangeError(`program ${this.name} has no counter ${name}`);
    const at = wrapIndex(index, layout.size);
    const cells = this.state.counters[layout.index];
    if (layout.kind === 'both') return { packets: cells[at * 2], bytes: cells[at * 2 + 1] };
    return layout.kind === 'packets' ? { packets: cells[at], bytes: 0 } : { packets: 0, bytes: cells[at] };
  }

  private table(name: string): ProgramTable {
    const index = this.code.tableIndex.get(name);
    if (index === undefined) throw new RangeError(`program ${this.name} has no table ${name}`);
    return this.state.tables[index];
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
        // Stryker disable next-line ConditionalExpression,EqualityOperator: the width rule lets a << be narrow only when its largest count keeps it within 32 bits, so the count is below 32
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
        // Stryker disable next-line EqualityOperator: a shift by exactly the width leaves 0 after the mask either way
        return n >= BigInt(bits) ? 0n : BigInt.asUintN(bits, l(c, a) << n);
      };
    default:
      return (c, a) => {
        const n = r(c, a);
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a right shift by 128 or more of a value of at most 128 bits gives 0 either way
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

// Stryker disable next-line ObjectLiteral,ArrayDeclaration: guards and table lookups never read action args
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

/**
 * A hash over flow key fields only: with a flow's FlowHashes in the context (a flow-cacheable program run through the
 * flow cache), the value the flow's first packet computed, else computed (and kept there).
 */
function perFlow(
  compute: (ctx: PacketContext, args: ActionArgs) => number,
  slot: number,
): (ctx: PacketContext, args: ActionArgs) => number {
  return (ctx, args) => {
    const hashes = ctx.flowHashes;
    if (hashes === undefined) return compute(ctx, args);
    const kept = hashes[slot];
    if (kept !== undefined) return kept;
    return (hashes[slot] = compute(ctx, args));
  };
}

function isFlowCacheable(program: TenantProgram): boolean {
  const writesFlowField = program.actions.some((action) =>
    // Stryker disable next-line ConditionalExpression: only set ops have a target that can be a flow key field
    action.ops.some((op) => op.op === 'set' && FLOW_KEY_FIELDS.has(op.target)),
  );
  const readsOnlyFlowFields =
    program.tables.every((table) => table.key.every((key) => FLOW_KEY_FIELDS.has(key.field))) &&
    program.control.every((step) => step.if === undefined || FLOW_KEY_FIELDS.has(step.if.field));
  // A step skipped at the first packet (guard false) stays skipped, and a drop ends the program at the same step:
  // both follow from the same header fields, so what was remembered is what this packet would have found.
  return readsOnlyFlowFields && !writesFlowField;
}
