import { ValidationError } from '../errors';
import {
  childPath,
  has,
  isJsonObject,
  jsonType,
  ProblemList,
  readArray,
  readEnum,
  readInteger,
  readObject,
  readString,
  show,
  type JsonObject,
} from './document-reader';
import { isStandardField, STANDARD_FIELDS } from './program-fields';
import { binaryWidth, bitLength, CONSTANT_PATTERN, constantValue, maskFor } from './program-widths';
import {
  BINARY_OPERATORS,
  COUNTER_KINDS,
  GUARD_OPERATORS,
  HASH_ALGORITHMS,
  MATCH_KINDS,
  METADATA_NAMESPACE,
  NAME_PATTERN,
  OP_KINDS,
  PROGRAM_LIMITS,
  PROGRAM_SHAPES,
  REGISTER_WIDTHS,
  RESERVED_NAMESPACES,
  type OpKind,
} from './program.constants';
import type {
  ActionDecl,
  Atom,
  Constant,
  ControlStep,
  CounterDecl,
  DefaultAction,
  Expression,
  Guard,
  HeaderDecl,
  HeaderFieldDecl,
  MetadataDecl,
  Op,
  ParamDecl,
  ProgramContext,
  ProgramResources,
  RegisterDecl,
  TableDecl,
  TableKey,
  TenantProgram,
  ValidProgram,
} from './program.types';

/**
 * Checks an untrusted program document for one tenant: structure, names, references, widths (see program-widths.ts),
 * `forward` targets and quotas. Throws a ValidationError whose `details` lists every problem found, each as
 * `path: message`; returns the program deep-frozen, with its resource summary, when there are none.
 *
 * Problems that follow from another one are not repeated: a reference to a register is not reported unknown while
 * some register declaration is unreadable, and quota totals count only the parts that could be read.
 */
export function validateProgram(document: unknown, context: ProgramContext): ValidProgram {
  const problems = new ProblemList();
  const program = new ProgramChecker(context, problems).check(document);
  if (problems.count > 0 || program === undefined) {
    const count = problems.count === 1 ? '1 problem' : `${problems.count} problems`;
    throw new ValidationError(
      `Tenant program for ${context.tenant} rejected: ${count}. Fix each one listed in details and submit it again.`,
      problems.toArray(),
    );
  }
  return deepFreeze({ tenant: context.tenant, program: program.program, resources: program.resources });
}

/** A value with the width the rule in program-widths.ts gives it; undefined when that depends on a broken part. */
interface Typed<T> {
  readonly value: T;
  readonly bits: number | undefined;
}

interface FieldInfo {
  readonly ref: string;
  readonly bits: number | undefined;
  readonly writable: boolean;
}

type FieldUse = 'read' | 'write' | 'metadata';

interface RegisterInfo {
  readonly width: number | undefined;
  readonly size: number | undefined;
}

interface CounterInfo {
  readonly size: number | undefined;
  readonly cellsPerEntry: number | undefined;
}

interface ActionInfo {
  readonly params: Names<number | undefined>;
  /** Length of the ops list, counted even when some op is invalid. */
  readonly opCount: number | undefined;
}

interface TableInfo {
  readonly actions: readonly string[];
  readonly size: number | undefined;
}

/**
 * Declarations of one kind. A duplicate name is reported where it repeats. When some declaration's name could not
 * be read the table is `complete: false`, and lookups of unknown names stay silent: the name may be that one.
 */
class Names<T> {
  private readonly entries = new Map<string, { readonly path: string; readonly info: T }>();
  private complete = true;

  constructor(
    private readonly kind: string,
    private readonly problems: ProblemList,
  ) {}

  declare(name: string | undefined, path: string, info: T): void {
    if (name === undefined) {
      this.complete = false;
      return;
    }
    const first = this.entries.get(name);
    if (first) {
      this.problems.add(
        childPath(path, 'name'),
        `duplicate ${this.kind} name ${name} (first declared at ${first.path})`,
      );
      return;
    }
    this.entries.set(name, { path, info });
  }

  /** Marks the kind incomplete when its whole list was unreadable. */
  giveUp(): void {
    this.complete = false;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  find(name: string): T | undefined {
    return this.entries.get(name)?.info;
  }

  /** The declaration of `name`, reporting at `path` when it is certainly unknown. */
  resolve(name: string, path: string, hint = ''): T | undefined {
    const entry = this.entries.get(name);
    if (entry) return entry.info;
    if (this.complete) this.problems.add(path, `unknown ${this.kind} ${show(name)}${hint}`);
    return undefined;
  }

  get isComplete(): boolean {
    return this.complete;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  infos(): T[] {
    return [...this.entries.values()].map((entry) => entry.info);
  }
}

class ProgramChecker {
  private readonly headers: Names<Names<number | undefined>>;
  private readonly metadata: Names<number | undefined>;
  private readonly registers: Names<RegisterInfo>;
  private readonly counters: Names<CounterInfo>;
  private readonly actions: Names<ActionInfo>;
  private readonly tables: Names<TableInfo>;
  private headerBits = 0;
  /** Tables the control steps apply, in order, for the ops-per-packet bound. */
  private readonly applied: string[] = [];

  constructor(
    private readonly context: ProgramContext,
    private readonly problems: ProblemList,
  ) {
    this.headers = new Names('header', problems);
    this.metadata = new Names('metadata', problems);
    this.registers = new Names('register', problems);
    this.counters = new Names('counter', problems);
    this.actions = new Names('action', problems);
    this.tables = new Names('table', problems);
  }

  check(document: unknown): { program: TenantProgram; resources: ProgramResources } | undefined {
    const root = readObject(document, '', PROGRAM_SHAPES.program, this.problems);
    if (!root) return undefined;
    // `$schema` only points editors at program.schema.json; it is not part of the program.
    readString(root, '$schema', '', this.problems);
    const name = this.name(root, 'name', '');
    const version = readInteger(root, 'version', '', this.problems, { min: 1, max: Number.MAX_SAFE_INTEGER });
    // Declarations first, in dependency order: ops refer to fields, registers and counters, tables to actions,
    // control steps to tables.
    const headers = this.list(root, '', 'headers', this.headers, (v, p) => this.header(v, p), {
      max: PROGRAM_LIMITS.headers,
    });
    this.checkHeaderBytes();
    const metadata = this.list(root, '', 'metadata', this.metadata, (v, p) => this.metadataDecl(v, p), {
      max: PROGRAM_LIMITS.metadata,
    });
    const registers = this.list(root, '', 'registers', this.registers, (v, p) => this.register(v, p), {
      max: PROGRAM_LIMITS.registers,
    });
    const counters = this.list(root, '', 'counters', this.counters, (v, p) => this.counter(v, p), {
      max: PROGRAM_LIMITS.counters,
    });
    const actions = this.list(root, '', 'actions', this.actions, (v, p) => this.action(v, p), {
      max: PROGRAM_LIMITS.actions,
      required: true,
    });
    const tables = this.list(root, '', 'tables', this.tables, (v, p) => this.table(v, p), {
      max: PROGRAM_LIMITS.tables,
      required: true,
    });
    const control = this.controlSteps(root);
    const resources = this.resources();
    this.checkQuota(resources);
    // Stryker disable ConditionalExpression,LogicalOperator,BlockStatement: a part is undefined only after its problem was recorded, and validateProgram rejects any document with a problem whatever this returns
    if (
      name === undefined ||
      version === undefined ||
      headers === undefined ||
      metadata === undefined ||
      registers === undefined ||
      counters === undefined ||
      actions === undefined ||
      tables === undefined ||
      control === undefined
    ) {
      return undefined;
    }
    // Stryker restore ConditionalExpression,LogicalOperator,BlockStatement
    return {
      program: { name, version, headers, metadata, registers, counters, actions, tables, control },
      resources,
    };
  }

  // --- declarations ---

  private header(value: unknown, path: string): HeaderDecl | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.header, this.problems);
    if (!record) {
      this.headers.declare(undefined, path, new Names('field', this.problems));
      return undefined;
    }
    let name = this.name(record, 'name', path);
    if (name !== undefined && (RESERVED_NAMESPACES as readonly string[]).includes(name)) {
      this.problems.add(childPath(path, 'name'), `${name} is reserved for standard fields and metadata`);
      name = undefined;
    }
    const fieldNames = new Names<number | undefined>('field', this.problems);
    this.headers.declare(name, path, fieldNames);
    const fields = this.list(record, path, 'fields', fieldNames, (v, p) => this.headerField(v, p, fieldNames), {
      min: 1,
      max: PROGRAM_LIMITS.headerFields,
      required: true,
    });
    if (fields === undefined) return undefined;
    const bits = fields.reduce((sum, field) => sum + field.bits, 0);
    if (bits % 8 !== 0) {
      this.problems.add(
        childPath(path, 'fields'),
        `${bits} bits in total is not a multiple of 8: a header is a whole number of bytes`,
      );
    }
    this.headerBits += bits;
    return name === undefined ? undefined : { name, fields };
  }

  private headerField(value: unknown, path: string, fields: Names<number | undefined>): HeaderFieldDecl | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.headerField, this.problems);
    if (!record) {
      fields.declare(undefined, path, undefined);
      return undefined;
    }
    const name = this.name(record, 'name', path);
    const bits = readInteger(record, 'bits', path, this.problems, { min: 1, max: PROGRAM_LIMITS.fieldBits });
    fields.declare(name, path, bits);
    return name === undefined || bits === undefined ? undefined : { name, bits };
  }

  private checkHeaderBytes(): void {
    const bytes = Math.ceil(this.headerBits / 8);
    if (bytes > PROGRAM_LIMITS.headerBytes) {
      this.problems.add('headers', `${bytes} bytes in total exceed the limit of ${PROGRAM_LIMITS.headerBytes}`);
    }
  }

  private metadataDecl(value: unknown, path: string): MetadataDecl | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.metadata, this.problems);
    if (!record) {
      this.metadata.declare(undefined, path, undefined);
      return undefined;
    }
    const name = this.name(record, 'name', path);
    const bits = readInteger(record, 'bits', path, this.problems, { min: 1, max: PROGRAM_LIMITS.metadataBits });
    this.metadata.declare(name, path, bits);
    return name === undefined || bits === undefined ? undefined : { name, bits };
  }

  private register(value: unknown, path: string): RegisterDecl | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.register, this.problems);
    if (!record) {
      this.registers.declare(undefined, path, { width: undefined, size: undefined });
      return undefined;
    }
    const name = this.name(record, 'name', path);
    const width = readEnum(record, 'width', path, this.problems, REGISTER_WIDTHS);
    const size = readInteger(record, 'size', path, this.problems, { min: 1, max: PROGRAM_LIMITS.arraySize });
    this.registers.declare(name, path, { width, size });
    return name === undefined || width === undefined || size === undefined ? undefined : { name, width, size };
  }

  private counter(value: unknown, path: string): CounterDecl | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.counter, this.problems);
    if (!record) {
      this.counters.declare(undefined, path, { size: undefined, cellsPerEntry: undefined });
      return undefined;
    }
    const name = this.name(record, 'name', path);
    const size = readInteger(record, 'size', path, this.problems, { min: 1, max: PROGRAM_LIMITS.arraySize });
    const kind = readEnum(record, 'kind', path, this.problems, COUNTER_KINDS);
    const cellsPerEntry = kind === undefined ? undefined : kind === 'both' ? 2 : 1;
    this.counters.declare(name, path, { size, cellsPerEntry });
    return name === undefined || size === undefined || kind === undefined ? undefined : { name, size, kind };
  }

  private action(value: unknown, path: string): ActionDecl | undefined {
    const params = new Names<number | undefined>('param', this.problems);
    const record = readObject(value, path, PROGRAM_SHAPES.action, this.problems);
    if (!record) {
      this.actions.declare(undefined, path, { params, opCount: undefined });
      return undefined;
    }
    const name = this.name(record, 'name', path);
    const paramList = this.list(record, path, 'params', params, (v, p) => this.param(v, p, params), {
      max: PROGRAM_LIMITS.actionParams,
    });
    const rawOps = record.ops;
    this.actions.declare(name, path, { params, opCount: Array.isArray(rawOps) ? rawOps.length : undefined });
    const ops = this.items(record, 'ops', path, { max: PROGRAM_LIMITS.opsPerAction }, (v, p) => this.op(v, p, params));
    return name === undefined || paramList === undefined || ops === undefined
      ? undefined
      : { name, params: paramList, ops };
  }

  private param(value: unknown, path: string, params: Names<number | undefined>): ParamDecl | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.param, this.problems);
    if (!record) {
      params.declare(undefined, path, undefined);
      return undefined;
    }
    const name = this.name(record, 'name', path);
    const bits = readInteger(record, 'bits', path, this.problems, { min: 1, max: PROGRAM_LIMITS.fieldBits });
    params.declare(name, path, bits);
    return name === undefined || bits === undefined ? undefined : { name, bits };
  }

  // --- ops ---

  private op(value: unknown, path: string, params: Names<number | undefined>): Op | undefined {
    if (!isJsonObject(value)) {
      this.problems.add(path, `expected an object, got ${jsonType(value)}`);
      return undefined;
    }
    const kind = value.op;
    const kindPath = childPath(path, 'op');
    if (kind === undefined) {
      this.problems.add(kindPath, 'required property is missing');
      return undefined;
    }
    if (typeof kind !== 'string') {
      this.problems.add(kindPath, `expected a string, got ${jsonType(kind)}`);
      return undefined;
    }
    if (!isOneOf(OP_KINDS, kind)) {
      this.problems.add(kindPath, `${show(kind)} is not a primitive op (the primitives: ${OP_KINDS.join(', ')})`);
      return undefined;
    }
    const record = readObject(value, path, PROGRAM_SHAPES[`op.${kind}`], this.problems) as JsonObject;
    return this.opOfKind(kind, record, path, params);
  }

  private opOfKind(kind: OpKind, record: JsonObject, path: string, params: Names<number | undefined>): Op | undefined {
    switch (kind) {
      case 'set': {
        const target = this.fieldRef(record, 'target', path, 'write');
        const value = this.expression(record, 'value', path, params);
        if (!target || !value) return undefined;
        this.checkFits(childPath(path, 'value'), value.bits, target.bits, `field ${target.ref}`);
        return { op: kind, target: target.ref, value: value.value };
      }
      case 'hash': {
        const algorithm = readEnum(record, 'algorithm', path, this.problems, HASH_ALGORITHMS);
        const fields = this.fieldList(record, 'fields', path);
        const bound = readInteger(record, 'bound', path, this.problems, { min: 1, max: PROGRAM_LIMITS.hashBound });
        const into = this.fieldRef(record, 'into', path, 'metadata');
        if (algorithm === undefined || fields === undefined || bound === undefined || !into) return undefined;
        const needed = bitLength(BigInt(bound - 1));
        if (into.bits !== undefined && needed > into.bits) {
          this.problems.add(
            childPath(path, 'into'),
            `hash values go up to ${bound - 1} and need ${needed} bits, ${into.ref} has ${into.bits}`,
          );
        }
        return { op: kind, algorithm, fields, bound, into: into.ref };
      }
      case 'register.read': {
        const register = this.registerRef(record, path);
        const index = this.index(record, path, params, register, 'register');
        const into = this.fieldRef(record, 'into', path, 'metadata');
        if (!register || !index || !into) return undefined;
        this.checkHolds(childPath(path, 'into'), register, into);
        return { op: kind, register: register.name, index: index.value, into: into.ref };
      }
      case 'register.write': {
        const update = this.registerUpdate(record, path, params);
        return update && { op: kind, register: update.register.name, index: update.index, value: update.value };
      }
      case 'register.add': {
        const update = this.registerUpdate(record, path, params);
        const into = has(record, 'into') ? this.fieldRef(record, 'into', path, 'metadata') : undefined;
        if (!update || (has(record, 'into') && !into)) return undefined;
        const add = { op: kind, register: update.register.name, index: update.index, value: update.value };
        if (!into) return add;
        this.checkHolds(childPath(path, 'into'), update.register, into);
        return { ...add, into: into.ref };
      }
      case 'counter.count': {
        const counter = this.counterRef(record, path);
        const index = this.index(record, path, params, counter, 'counter');
        if (!counter || !index) return undefined;
        return { op: kind, counter: counter.name, index: index.value };
      }
      case 'drop':
      case 'mirror':
        return { op: kind };
      case 'forward': {
        const to = readString(record, 'to', path, this.problems);
        if (to === undefined) return undefined;
        if (!this.context.vms.includes(to)) {
          // Deliberately the same answer for another tenant's VM and a VM that does not exist: a tenant learns
          // nothing about other tenants from it.
          this.problems.add(childPath(path, 'to'), `${show(to)} is not a VM of ${this.context.tenant}`);
          return undefined;
        }
        return { op: kind, to };
      }
      case 'report': {
        const event = this.name(record, 'event', path);
        const fields = this.fieldList(record, 'fields', path);
        return event === undefined || fields === undefined ? undefined : { op: kind, event, fields };
      }
    }
  }

  private registerRef(record: JsonObject, path: string): (RegisterInfo & { name: string }) | undefined {
    const name = readString(record, 'register', path, this.problems);
    if (name === undefined) return undefined;
    const register = this.registers.resolve(name, childPath(path, 'register'));
    return register && { name, ...register };
  }

  /** The register, index and value of a write or add; the value must fit the register's width. */
  private registerUpdate(
    record: JsonObject,
    path: string,
    params: Names<number | undefined>,
  ): { register: RegisterInfo & { name: string }; index: Expression; value: Expression } | undefined {
    const register = this.registerRef(record, path);
    const index = this.index(record, path, params, register, 'register');
    const value = this.expression(record, 'value', path, params);
    if (!register || !index || !value) return undefined;
    this.checkFits(childPath(path, 'value'), value.bits, register.width, `register ${register.name}`);
    return { register, index: index.value, value: value.value };
  }

  private counterRef(record: JsonObject, path: string): (CounterInfo & { name: string }) | undefined {
    const name = readString(record, 'counter', path, this.problems);
    if (name === undefined) return undefined;
    const counter = this.counters.resolve(name, childPath(path, 'counter'));
    return counter && { name, ...counter };
  }

  /** An index expression; a constant index must lie inside the array (any other index wraps at run time). */
  private index(
    record: JsonObject,
    path: string,
    params: Names<number | undefined>,
    array: { name: string; size: number | undefined } | undefined,
    kind: 'register' | 'counter',
  ): Typed<Expression> | undefined {
    const index = this.expression(record, 'index', path, params);
    if (index && array?.size !== undefined && 'const' in index.value) {
      const at = constantValue(index.value.const);
      if (at >= BigInt(array.size)) {
        this.problems.add(
          childPath(path, 'index'),
          `index ${at} is outside ${kind} ${array.name} (size ${array.size}, indexes 0 to ${array.size - 1})`,
        );
      }
    }
    return index;
  }

  /** A register read into metadata: the metadata must hold the register's whole cell. */
  private checkHolds(path: string, register: RegisterInfo & { name: string }, into: FieldInfo): void {
    if (register.width !== undefined && into.bits !== undefined && register.width > into.bits) {
      this.problems.add(
        path,
        `register ${register.name} holds ${register.width}-bit values, ${into.ref} has ${into.bits} bits: ` +
          `declare it with at least ${register.width}`,
      );
    }
  }

  private checkFits(path: string, valueBits: number | undefined, targetBits: number | undefined, target: string): void {
    if (valueBits !== undefined && targetBits !== undefined && valueBits > targetBits) {
      this.problems.add(
        path,
        `${valueBits}-bit value does not fit ${target} (${targetBits} bits): ` +
          `mask it explicitly, e.g. with & ${maskFor(targetBits)}`,
      );
    }
  }

  // --- expressions, constants, fields ---

  private expression(
    record: JsonObject,
    key: string,
    path: string,
    params: Names<number | undefined>,
  ): Typed<Expression> | undefined {
    if (!has(record, key)) return undefined;
    const value = record[key];
    const at = childPath(path, key);
    if (!isJsonObject(value) || !has(value, 'op')) return this.atom(value, at, params);
    const binary = readObject(value, at, PROGRAM_SHAPES['expr.binary'], this.problems) as JsonObject;
    const op = readEnum(binary, 'op', at, this.problems, BINARY_OPERATORS);
    const left = has(binary, 'left') ? this.atom(binary.left, childPath(at, 'left'), params) : undefined;
    const right = has(binary, 'right') ? this.atom(binary.right, childPath(at, 'right'), params) : undefined;
    if (op === undefined || !left || !right) return undefined;
    const shift = 'const' in right.value ? constantValue(right.value.const) : undefined;
    const bits =
      left.bits === undefined || right.bits === undefined ? undefined : binaryWidth(op, left.bits, right.bits, shift);
    return { value: { op, left: left.value, right: right.value }, bits };
  }

  private atom(value: unknown, path: string, params: Names<number | undefined>): Typed<Atom> | undefined {
    const expected = 'an expression: { "const" }, { "field" }, { "param" } or { "op", "left", "right" }';
    if (!isJsonObject(value)) {
      this.problems.add(path, `expected ${expected}, got ${jsonType(value)}`);
      return undefined;
    }
    if (has(value, 'op')) {
      this.problems.add(
        path,
        'expression nested too deep: an operand is a constant, a field or a param, not another operation',
      );
      return undefined;
    }
    if (has(value, 'const')) {
      readObject(value, path, PROGRAM_SHAPES['expr.const'], this.problems);
      const constant = this.constant(value, 'const', path);
      return constant && { value: { const: constant.value }, bits: constant.bits };
    }
    if (has(value, 'field')) {
      readObject(value, path, PROGRAM_SHAPES['expr.field'], this.problems);
      const field = this.fieldRef(value, 'field', path, 'read');
      return field && { value: { field: field.ref }, bits: field.bits };
    }
    if (has(value, 'param')) {
      readObject(value, path, PROGRAM_SHAPES['expr.param'], this.problems);
      const name = readString(value, 'param', path, this.problems);
      if (name === undefined) return undefined;
      const known = params.names();
      const hint = known.length === 0 ? ' (this action has no params)' : ` (params: ${known.join(', ')})`;
      if (!params.has(name)) {
        params.resolve(name, childPath(path, 'param'), hint);
        return undefined;
      }
      return { value: { param: name }, bits: params.find(name) };
    }
    this.problems.add(path, `expected ${expected}`);
    return undefined;
  }

  private constant(record: JsonObject, key: string, path: string): { value: Constant; bits: number } | undefined {
    if (!has(record, key)) return undefined;
    const value = record[key];
    const at = childPath(path, key);
    if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < 0) {
        this.problems.add(at, `${show(value)} is not a constant: expected a non-negative integer`);
        return undefined;
      }
      if (!Number.isSafeInteger(value)) {
        this.problems.add(at, `${show(value)} is above 2^53 - 1: write it as a string of digits ("0x..." or decimal)`);
        return undefined;
      }
    } else if (typeof value === 'string') {
      if (!CONSTANT_PATTERN.test(value)) {
        this.problems.add(at, `${show(value)} is not a constant: expected decimal digits, or 0x and hex digits`);
        return undefined;
      }
    } else {
      this.problems.add(
        at,
        `expected a constant (a non-negative integer or a string of digits), got ${jsonType(value)}`,
      );
      return undefined;
    }
    const bits = bitLength(constantValue(value));
    if (bits > PROGRAM_LIMITS.valueBits) {
      this.problems.add(at, `constant needs ${bits} bits, values have at most ${PROGRAM_LIMITS.valueBits}`);
      return undefined;
    }
    return { value, bits };
  }

  /**
   * A field reference used to read (any known field), to write (a writable one) or as an op's metadata
   * destination (`meta.<name>` only).
   */
  private fieldRef(record: JsonObject, key: string, path: string, use: FieldUse): FieldInfo | undefined {
    const ref = readString(record, key, path, this.problems);
    if (ref === undefined) return undefined;
    const at = childPath(path, key);
    if (use === 'metadata' && !ref.startsWith(`${METADATA_NAMESPACE}.`)) {
      this.problems.add(at, `must be a metadata variable (meta.<name>), not ${show(ref)}`);
      return undefined;
    }
    const field = this.lookupField(ref, at);
    if (field && use === 'write' && !field.writable) {
      this.problems.add(at, `${ref} is read-only`);
      return undefined;
    }
    return field;
  }

  private lookupField(ref: string, path: string): FieldInfo | undefined {
    if (isStandardField(ref)) {
      const spec = STANDARD_FIELDS[ref];
      return { ref, bits: spec.bits, writable: spec.writable };
    }
    const unknown = `unknown field ${show(ref)}`;
    const parts = ref.split('.');
    if (parts.length !== 2) {
      this.problems.add(path, unknown);
      return undefined;
    }
    const [namespace, member] = parts as [string, string];
    if (namespace === METADATA_NAMESPACE) {
      if (this.metadata.has(member)) {
        return { ref, bits: this.metadata.find(member), writable: true };
      }
      if (this.metadata.isComplete) this.problems.add(path, `${unknown}: declare ${show(member)} in metadata`);
      return undefined;
    }
    if ((RESERVED_NAMESPACES as readonly string[]).includes(namespace)) {
      this.problems.add(path, unknown);
      return undefined;
    }
    const header = this.headers.find(namespace);
    if (!header) {
      if (this.headers.isComplete) this.problems.add(path, unknown);
      return undefined;
    }
    if (header.has(member)) return { ref, bits: header.find(member), writable: true };
    if (header.isComplete) this.problems.add(path, `${unknown}: header ${namespace} has no field ${show(member)}`);
    return undefined;
  }

  private fieldList(record: JsonObject, key: string, path: string): string[] | undefined {
    return this.items(record, key, path, { min: 1, max: PROGRAM_LIMITS.opFields }, (value, at) => {
      if (typeof value !== 'string') {
        this.problems.add(at, `expected a field reference (a string), got ${jsonType(value)}`);
        return undefined;
      }
      return this.lookupField(value, at)?.ref;
    });
  }

  // --- tables and control ---

  private table(value: unknown, path: string): TableDecl | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.table, this.problems);
    if (!record) {
      this.tables.declare(undefined, path, { actions: [], size: undefined });
      return undefined;
    }
    const name = this.name(record, 'name', path);
    const key = this.tableKeys(record, path);
    const actions = this.tableActions(record, path);
    const size = readInteger(record, 'size', path, this.problems, { min: 0, max: PROGRAM_LIMITS.arraySize });
    if (key !== undefined && key.length === 0 && size !== undefined && size > 0) {
      this.problems.add(
        childPath(path, 'size'),
        'a table without a key holds no entries, only its default action: set size to 0',
      );
    }
    this.tables.declare(name, path, { actions: actions ?? [], size });
    const defaultAction = has(record, 'defaultAction')
      ? this.defaultAction(record.defaultAction, childPath(path, 'defaultAction'), actions)
      : undefined;
    if (name === undefined || key === undefined || actions === undefined || !defaultAction || size === undefined) {
      return undefined;
    }
    return { name, key, actions, defaultAction, size };
  }

  private tableKeys(record: JsonObject, path: string): TableKey[] | undefined {
    const fieldAt = new Map<string, string>();
    let lpmAt: string | undefined;
    return this.items(record, 'key', path, { max: PROGRAM_LIMITS.tableKeys }, (value, at) => {
      const key = readObject(value, at, PROGRAM_SHAPES.tableKey, this.problems);
      if (!key) return undefined;
      const field = this.fieldRef(key, 'field', at, 'read');
      const match = readEnum(key, 'match', at, this.problems, MATCH_KINDS);
      if (field) {
        const first = fieldAt.get(field.ref);
        if (first !== undefined) {
          this.problems.add(childPath(at, 'field'), `${field.ref} is already in the key at ${first}`);
        } else {
          fieldAt.set(field.ref, at);
        }
      }
      if (match === 'lpm') {
        if (lpmAt !== undefined) {
          this.problems.add(childPath(at, 'match'), `a table has at most one lpm key, and ${lpmAt} is one`);
        } else {
          lpmAt = at;
        }
      }
      return field && match ? { field: field.ref, match } : undefined;
    });
  }

  private tableActions(record: JsonObject, path: string): string[] | undefined {
    const listedAt = new Map<string, string>();
    return this.items(record, 'actions', path, { min: 1, max: PROGRAM_LIMITS.tableActions }, (value, at) => {
      if (typeof value !== 'string') {
        this.problems.add(at, `expected an action name (a string), got ${jsonType(value)}`);
        return undefined;
      }
      const first = listedAt.get(value);
      if (first !== undefined) {
        this.problems.add(at, `${show(value)} is already listed at ${first}`);
        return undefined;
      }
      listedAt.set(value, at);
      return this.actions.resolve(value, at) && value;
    });
  }

  private defaultAction(value: unknown, path: string, tableActions: string[] | undefined): DefaultAction | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.defaultAction, this.problems);
    if (!record) return undefined;
    const name = readString(record, 'action', path, this.problems);
    if (name === undefined) return undefined;
    const actionPath = childPath(path, 'action');
    const action = this.actions.resolve(name, actionPath);
    if (!action) return undefined;
    if (tableActions !== undefined && !tableActions.includes(name)) {
      this.problems.add(actionPath, `${name} is not one of this table's actions (${tableActions.join(', ')})`);
      return undefined;
    }
    const args = this.args(record, path, name, action.params);
    return args && { action: name, args };
  }

  /** A default action's arguments: exactly one constant per param, each fitting the param's width. */
  private args(
    record: JsonObject,
    path: string,
    action: string,
    params: Names<number | undefined>,
  ): Record<string, Constant> | undefined {
    const argsPath = childPath(path, 'args');
    const given = has(record, 'args') ? record.args : {};
    if (!isJsonObject(given)) {
      this.problems.add(argsPath, `expected an object (param name to constant), got ${jsonType(given)}`);
      return undefined;
    }
    const before = this.problems.count;
    const args: Record<string, Constant> = {};
    for (const name of Object.keys(given)) {
      if (!params.has(name)) {
        if (params.isComplete)
          this.problems.add(childPath(argsPath, name), `action ${action} has no param ${show(name)}`);
        continue;
      }
      const constant = this.constant(given, name, argsPath);
      if (!constant) continue;
      const bits = params.find(name);
      if (bits !== undefined && constant.bits > bits) {
        this.problems.add(
          childPath(argsPath, name),
          `${show(constant.value)} needs ${constant.bits} bits, param ${name} of action ${action} has ${bits}`,
        );
        continue;
      }
      args[name] = constant.value;
    }
    const missing = params.names().filter((name) => !has(given, name));
    if (missing.length > 0) {
      this.problems.add(argsPath, `missing value for param ${missing.join(', ')} of action ${action}`);
    }
    return this.problems.count === before ? args : undefined;
  }

  private controlSteps(root: JsonObject): ControlStep[] | undefined {
    const appliedAt = new Map<string, string>();
    return this.items(root, 'control', '', { max: PROGRAM_LIMITS.controlSteps }, (value, path) => {
      const record = readObject(value, path, PROGRAM_SHAPES.controlStep, this.problems);
      if (!record) return undefined;
      const table = readString(record, 'table', path, this.problems);
      const tablePath = childPath(path, 'table');
      let applied = table !== undefined && this.tables.resolve(table, tablePath) !== undefined;
      if (table !== undefined && applied) {
        const first = appliedAt.get(table);
        if (first !== undefined) {
          this.problems.add(tablePath, `${table} is already applied at ${first}: each table is applied at most once`);
          applied = false;
        } else {
          appliedAt.set(table, path);
          this.applied.push(table);
        }
      }
      const guard = has(record, 'if') ? this.guard(record.if, childPath(path, 'if')) : undefined;
      if (table === undefined || !applied || (has(record, 'if') && !guard)) return undefined;
      return guard ? { table, if: guard } : { table };
    });
  }

  private guard(value: unknown, path: string): Guard | undefined {
    const record = readObject(value, path, PROGRAM_SHAPES.guard, this.problems);
    if (!record) return undefined;
    const field = this.fieldRef(record, 'field', path, 'read');
    const op = readEnum(record, 'op', path, this.problems, GUARD_OPERATORS);
    const constant = this.constant(record, 'value', path);
    if (!field || op === undefined || !constant) return undefined;
    if (field.bits !== undefined && constant.bits > field.bits) {
      this.problems.add(
        childPath(path, 'value'),
        `${show(constant.value)} needs ${constant.bits} bits, ${field.ref} has ${field.bits}: the comparison would come out the same for every packet`,
      );
      return undefined;
    }
    return { field: field.ref, op, value: constant.value };
  }

  // --- resources and quota ---

  private resources(): ProgramResources {
    const sum = (values: (number | undefined)[]): number => values.reduce<number>((total, v) => total + (v ?? 0), 0);
    const tables = this.tables.infos();
    const maxOpsPerPacket = sum(
      this.applied.map((name) => {
        const table = this.tables.find(name);
        const counts = (table?.actions ?? []).map((name) => this.actions.find(name)?.opCount ?? 0);
        return Math.max(0, ...counts);
      }),
    );
    return {
      tables: tables.length,
      tableEntries: sum(tables.map((table) => table.size)),
      registerBits: sum(this.registers.infos().map((r) => (r.width ?? 0) * (r.size ?? 0))),
      counters: sum(this.counters.infos().map((c) => (c.size ?? 0) * (c.cellsPerEntry ?? 0))),
      maxOpsPerPacket,
      headerBytes: Math.ceil(this.headerBits / 8),
    };
  }

  private checkQuota(used: ProgramResources): void {
    const quota = this.context.quota;
    const over = (path: string, amount: number, limit: number, unit: string): void => {
      if (amount > limit) this.problems.add(path, `${amount} ${unit} exceed the quota of ${limit}`);
    };
    over('tables', used.tables, quota.tables, 'tables');
    over('tables', used.tableEntries, quota.tableEntries, 'table entries (sum of table sizes)');
    over('registers', used.registerBits, quota.registerBits, 'register bits (sum of width x size)');
    over('counters', used.counters, quota.counters, 'counter cells (sum of sizes, twice for kind both)');
    over('control', used.maxOpsPerPacket, quota.actionOpsPerPacket, 'ops per packet in the worst case');
    over('headers', used.headerBytes, quota.headerBytes, 'header bytes');
  }

  // --- helpers ---

  private name(record: JsonObject, key: string, path: string): string | undefined {
    const value = readString(record, key, path, this.problems);
    if (value === undefined) return undefined;
    if (!NAME_PATTERN.test(value)) {
      this.problems.add(
        childPath(path, key),
        `${show(value)} is not a valid name: lowercase letters, digits and _, starting with a letter, at most 32 characters`,
      );
      return undefined;
    }
    return value;
  }

  /**
   * A list of declarations. An optional one left out is empty. When a required one is missing or either is not a
   * list at all, its kind is incomplete: references to it are not reported unknown.
   */
  private list<T>(
    record: JsonObject,
    path: string,
    key: string,
    names: Names<unknown>,
    read: (value: unknown, path: string) => T | undefined,
    limits: { min?: number; max: number; required?: boolean },
  ): T[] | undefined {
    if (!has(record, key) && limits.required !== true) return [];
    const items = this.items(record, key, path, limits, read);
    if (!Array.isArray(record[key])) names.giveUp();
    return items;
  }

  /** Reads every item, so that each one's problems are reported; undefined unless all of them were valid. */
  private items<T>(
    record: JsonObject,
    key: string,
    path: string,
    limits: { min?: number; max: number },
    read: (value: unknown, path: string) => T | undefined,
  ): T[] | undefined {
    const raw = readArray(record, key, path, this.problems, limits);
    if (raw === undefined) return undefined;
    const at = childPath(path, key);
    const items = raw.map((value, index) => read(value, childPath(at, index)));
    return items.every((item) => item !== undefined) ? items : undefined;
  }
}

function isOneOf<T extends string>(allowed: readonly T[], value: string): value is T {
  return (allowed as readonly string[]).includes(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
