import type {
  BinaryOperator,
  CounterKind,
  GuardOperator,
  HashAlgorithm,
  MatchKind,
  RegisterWidth,
} from './program.constants';

/**
 * A tenant program: plain data, P4-like (seed 004). Tenant headers are parsed after L4, then the `control` steps
 * apply tables in order; a table matches its key, runs one action, and each action is a list of primitive ops.
 * `validateProgram` turns an untrusted JSON document into this type; `program.schema.json` describes the same
 * document for editors.
 *
 * In the document `headers`, `metadata`, `registers`, `counters`, an action's `params` and a default action's
 * `args` may be left out; a validated program always has them (empty when left out).
 */
export interface TenantProgram {
  readonly name: string;
  /** Increases with each submission of the same program name. */
  readonly version: number;
  readonly headers: readonly HeaderDecl[];
  readonly metadata: readonly MetadataDecl[];
  readonly registers: readonly RegisterDecl[];
  readonly counters: readonly CounterDecl[];
  readonly actions: readonly ActionDecl[];
  readonly tables: readonly TableDecl[];
  /** The pipeline: tables applied in this order, each at most once; nothing jumps backwards. */
  readonly control: readonly ControlStep[];
}

/**
 * A tenant-defined header, parsed from the L4 payload (FrameView.payloadOffset), headers one after the other in
 * declaration order. Fields are big-endian bit fields; the total is a whole number of bytes.
 */
export interface HeaderDecl {
  readonly name: string;
  readonly fields: readonly HeaderFieldDecl[];
}

export interface HeaderFieldDecl {
  readonly name: string;
  /** 1 to 64. */
  readonly bits: number;
}

/** A per-packet scratch variable, `meta.<name>`: 0 when the packet enters the program, gone when it leaves. */
export interface MetadataDecl {
  readonly name: string;
  /** 1 to 128. */
  readonly bits: number;
}

/**
 * A register array: state kept across packets. `size` is what the program asks for; the allocator grants an
 * (offset, amount) slice and every access goes through the page table `phys = offset + (index % amount)`
 * (seed 004), so any index is safe and a tenant can never reach another tenant's cells.
 */
export interface RegisterDecl {
  readonly name: string;
  readonly width: RegisterWidth;
  /** Entries requested, 1 to 65536. */
  readonly size: number;
}

/** A counter array of 64-bit cells, read by the control plane. Indexes wrap like register indexes. */
export interface CounterDecl {
  readonly name: string;
  readonly size: number;
  readonly kind: CounterKind;
}

export interface ActionDecl {
  readonly name: string;
  /** Values a table entry (or the default action) supplies when it selects this action. */
  readonly params: readonly ParamDecl[];
  readonly ops: readonly Op[];
}

export interface ParamDecl {
  readonly name: string;
  /** 1 to 64. */
  readonly bits: number;
}

export interface TableDecl {
  readonly name: string;
  /** Empty for a table that always runs its default action (then `size` must be 0). */
  readonly key: readonly TableKey[];
  /** The actions entries may select; the default action is one of them. */
  readonly actions: readonly string[];
  /** What runs when no entry matches. */
  readonly defaultAction: DefaultAction;
  /** Most entries the table holds. */
  readonly size: number;
}

export interface TableKey {
  readonly field: FieldRef;
  /** At most one `lpm` key per table. */
  readonly match: MatchKind;
}

export interface DefaultAction {
  readonly action: string;
  /** One constant per param of the action, by param name. */
  readonly args: Readonly<Record<string, Constant>>;
}

export interface ControlStep {
  readonly table: string;
  /** Apply the table only when the guard holds. */
  readonly if?: Guard;
}

export interface Guard {
  readonly field: FieldRef;
  readonly op: GuardOperator;
  readonly value: Constant;
}

/**
 * A field reference: a standard field (`ipv4.src`, see STANDARD_FIELDS), a tenant header field (`<header>.<field>`)
 * or metadata (`meta.<name>`).
 */
export type FieldRef = string;

/**
 * An unsigned integer constant of at most 128 bits: a JSON number up to 2^53 - 1, or a string of decimal digits or
 * `0x` and hex digits for anything (wider masks, 64-bit MACs). `constantValue` reads either as a bigint.
 */
export type Constant = number | string;

/**
 * Expressions are deliberately tiny: one atom, or one binary operator over two atoms (no nesting). A metadata
 * reference is a field reference in the `meta` namespace: `{ "field": "meta.flow" }`.
 */
export type Expression = Atom | BinaryExpression;
export type Atom = ConstantAtom | FieldAtom | ParamAtom;

export interface ConstantAtom {
  readonly const: Constant;
}

export interface FieldAtom {
  readonly field: FieldRef;
}

/** A param of the enclosing action. */
export interface ParamAtom {
  readonly param: string;
}

export interface BinaryExpression {
  readonly op: BinaryOperator;
  readonly left: Atom;
  readonly right: Atom;
}

export type Op =
  | SetOp
  | HashOp
  | RegisterReadOp
  | RegisterWriteOp
  | RegisterAddOp
  | CounterCountOp
  | DropOp
  | ForwardOp
  | MirrorOp
  | ReportOp;

/** `target := value`; the target is writable (a writable standard field, a tenant header field or metadata). */
export interface SetOp {
  readonly op: 'set';
  readonly target: FieldRef;
  readonly value: Expression;
}

/** `into := algorithm(fields concatenated, most significant first) % bound`. */
export interface HashOp {
  readonly op: 'hash';
  readonly algorithm: HashAlgorithm;
  readonly fields: readonly FieldRef[];
  /** 1 to 2^32. */
  readonly bound: number;
  /** A metadata reference (`meta.<name>`). */
  readonly into: FieldRef;
}

/** `into := register[index]`. */
export interface RegisterReadOp {
  readonly op: 'register.read';
  readonly register: string;
  readonly index: Expression;
  readonly into: FieldRef;
}

/** `register[index] := value`. */
export interface RegisterWriteOp {
  readonly op: 'register.write';
  readonly register: string;
  readonly index: Expression;
  readonly value: Expression;
}

/** `register[index] += value`, wrapping at the register's width; `into`, when given, receives the new value. */
export interface RegisterAddOp {
  readonly op: 'register.add';
  readonly register: string;
  readonly index: Expression;
  readonly value: Expression;
  readonly into?: FieldRef;
}

/** Adds the packet (and/or its length, by the counter's kind) to `counter[index]`. */
export interface CounterCountOp {
  readonly op: 'counter.count';
  readonly counter: string;
  readonly index: Expression;
}

export interface DropOp {
  readonly op: 'drop';
}

/** Sends the frame to one VM of the same tenant instead of the switch's own forwarding decision. */
export interface ForwardOp {
  readonly op: 'forward';
  readonly to: string;
}

/** Copies the frame to the packet trace topic (TOPICS.packetTraces), whatever the sampling rate. */
export interface MirrorOp {
  readonly op: 'mirror';
}

/** Publishes an event named `event` with the current values of `fields` to Kafka. */
export interface ReportOp {
  readonly op: 'report';
  readonly event: string;
  readonly fields: readonly FieldRef[];
}

/**
 * What a tenant may use, per tenant (the allocator sets it). Every figure is a total over the program:
 * `tableEntries` sums table sizes, `registerBits` sums width x size, `counters` counts 64-bit counter cells
 * (size, twice for kind `both`), `actionOpsPerPacket` bounds `maxOpsPerPacket`, `headerBytes` sums tenant headers.
 */
export interface ProgramQuota {
  readonly tables: number;
  readonly tableEntries: number;
  readonly registerBits: number;
  readonly counters: number;
  readonly actionOpsPerPacket: number;
  readonly headerBytes: number;
}

/** What a valid program uses, in the units of ProgramQuota. The allocator checks it against capacity. */
export interface ProgramResources {
  readonly tables: number;
  readonly tableEntries: number;
  readonly registerBits: number;
  readonly counters: number;
  /** Static worst case: over the control steps, the sum of the largest op count among each table's actions. */
  readonly maxOpsPerPacket: number;
  readonly headerBytes: number;
}

export interface ProgramContext {
  /** The submitting tenant. */
  readonly tenant: string;
  /** The tenant's VM ids: the only targets `forward` may name. */
  readonly vms: readonly string[];
  readonly quota: ProgramQuota;
}

/** A program `validateProgram` accepted: deep-frozen, normalized, with what it uses. */
export interface ValidProgram {
  readonly tenant: string;
  readonly program: TenantProgram;
  readonly resources: ProgramResources;
}
