import { MAX_IMPAIRMENT_DELAY_MS, MAX_IMPAIRMENT_RATE_FPS } from '@tenantlab/shared';
import type { JsonSchema } from './json-schema';
import { COMPARISON_FIGURES } from './scenario';

/**
 * The scenario file's JSON Schema (draft 2020-12): a lab file (name, tenants) that may also declare each tenant's
 * circuit policy, program, CPU weight and trace sampling, the workloads that run on its VMs, and a timeline of events.
 * `scenarios/scenario.schema.json` is this object written out for editors (scenario-schema.spec.ts keeps them equal);
 * loadScenario checks every file against it, then checks what a schema cannot (ids that must exist, times within the
 * run). A value written `[min, max]` where a range is allowed is drawn from the scenario's seeded PRNG.
 */
const id = { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' };
const ms = { type: 'integer', minimum: 0, maximum: 3_600_000 };
const positiveMs = { type: 'integer', minimum: 1, maximum: 3_600_000 };
const service = { type: 'string', pattern: '^[a-z0-9][a-z0-9._:-]{0,99}$' };
const target = { type: 'string', minLength: 1, maxLength: 200, description: '`<service>` or `<vm-id>/<service>`' };
const fraction = { type: 'number', minimum: 0, maximum: 1 };

const common = {
  label: { type: 'string', maxLength: 80, description: 'What the report calls this event (default: its kind).' },
  atMs: { $ref: '#/$defs/msRange', description: 'When, from the start of the run; [min, max] draws it from the seed.' },
};

export const SCENARIO_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://tenantlab.local/scenario.schema.json',
  title: 'Tenantlab lab file with a scenario',
  description:
    'A lab file: tenants and their VMs; optionally what the tenants run (policy, program, CPU weight, sampling), the ' +
    'workloads on their VMs and a timeline of events, run by `npm run lab -- run <file>`.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'tenants'],
  properties: {
    $schema: { type: 'string' },
    $comment: { type: 'string' },
    name: id,
    description: { type: 'string', maxLength: 2000 },
    seed: {
      type: 'integer',
      minimum: 0,
      maximum: 4_294_967_295,
      description: 'Seeds every random choice (default 1).',
    },
    durationMs: { type: 'integer', minimum: 1000, maximum: 3_600_000, description: 'How long the run lasts.' },
    collect: {
      type: 'object',
      additionalProperties: false,
      properties: {
        intervalMs: { type: 'integer', minimum: 100, maximum: 60_000, description: 'Counter polling (default 500).' },
        drainMs: {
          type: 'integer',
          minimum: 0,
          maximum: 120_000,
          description: 'After the run, how long to wait for the last frames to settle (default 10000).',
        },
        warmupMs: {
          ...ms,
          description:
            "When the VMs' receive counts and latency histograms are reset: figures cover the rest of the run.",
        },
      },
    },
    tenants: { type: 'array', minItems: 1, maxItems: 64, items: { $ref: '#/$defs/tenant' } },
    switch: { $ref: '#/$defs/switchSettings' },
    allocator: { $ref: '#/$defs/allocatorSettings' },
    workloads: { type: 'array', maxItems: 256, items: { $ref: '#/$defs/workload' } },
    timeline: { type: 'array', maxItems: 256, items: { $ref: '#/$defs/event' } },
    variants: {
      description:
        'A comparison: each variant is the scenario with some fields replaced, run one after the other on a lab of ' +
        'its own; the report sets their figures side by side.',
      type: 'array',
      minItems: 2,
      maxItems: 8,
      items: { $ref: '#/$defs/variant' },
    },
    comparisons: {
      description: 'Ratios of one figure between two variants, in the report (and bench/results with --bench).',
      type: 'array',
      maxItems: 32,
      items: { $ref: '#/$defs/comparison' },
    },
    metrics: {
      description: 'Figures of one variant each, in the report and as metrics.<name> in bench/results (--bench).',
      type: 'array',
      maxItems: 32,
      items: { $ref: '#/$defs/metric' },
    },
  },
  $defs: {
    id,
    switchSettings: {
      description: "The switch's program CPU budget and tenant quantum for the run (its environment).",
      type: 'object',
      additionalProperties: false,
      properties: {
        programCpuNsPerSecond: {
          type: 'integer',
          minimum: 1000,
          maximum: 1_000_000_000_000,
          description: 'Program time per second shared by weight (1e9 = one core; 1e12 never binds: budgets off).',
        },
        programCpuBurstNs: { type: 'integer', minimum: 1000, maximum: 1_000_000_000_000 },
        tenantQuantum: {
          type: 'integer',
          minimum: 1,
          maximum: 1_000_000,
          description: 'SWITCH_TENANT_QUANTUM: work one tenant may make the switch do per round (default 256).',
        },
        utilityWindowMs: {
          type: 'integer',
          minimum: 100,
          maximum: 600_000,
          description:
            "UTILITY_WINDOW_MS: how often the switch reports each utility program's hit ratio (default 2000).",
        },
        utilityWindowReset: {
          type: 'boolean',
          description: "UTILITY_WINDOW_RESET: clear a reported program's registers after each window (default false).",
        },
      },
    },
    allocatorSettings: {
      description:
        "The allocator's settings for the run (its environment); a variant's are merged over the scenario's. The " +
        'register memory (stages, registerCellsPerStage) is given to the switch too.',
      type: 'object',
      additionalProperties: false,
      properties: {
        reallocation: {
          enum: ['live', 'static'],
          description: "ALLOCATOR_REALLOCATION: live re-links by seed 004's utility policy each window (default live).",
        },
        settleMs: {
          type: 'integer',
          minimum: 0,
          maximum: 60_000,
          description: 'REALLOCATION_SETTLE_MS (default 300).',
        },
        stages: { type: 'integer', minimum: 1, maximum: 64, description: 'SWITCH_STAGES (default 8).' },
        registerCellsPerStage: {
          type: 'integer',
          minimum: 1,
          maximum: 16_777_216,
          description: 'REGISTER_CELLS_PER_STAGE (default 65536).',
        },
        opsPerPacket: { type: 'integer', minimum: 0, maximum: 100_000_000, description: 'SWITCH_OPS_PER_PACKET.' },
        tenantOpsPerPacket: {
          type: 'integer',
          minimum: 0,
          maximum: 100_000_000,
          description: "TENANT_QUOTA_OPS_PER_PACKET: one tenant's worst-case ops per packet (default 32).",
        },
        tenantTables: {
          type: 'integer',
          minimum: 0,
          maximum: 32,
          description: "TENANT_QUOTA_TABLES: tables in one tenant's program (default 8, at most the language's 32).",
        },
      },
    },
    variant: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: id,
        description: { type: 'string', maxLength: 500 },
        withoutTenants: {
          description: 'Tenants left out, with every workload and event that names them or their VMs.',
          type: 'array',
          items: id,
          maxItems: 64,
        },
        tenants: { type: 'array', minItems: 1, maxItems: 64, items: { $ref: '#/$defs/tenant' } },
        workloads: { type: 'array', maxItems: 256, items: { $ref: '#/$defs/workload' } },
        switch: { $ref: '#/$defs/switchSettings' },
        allocator: { $ref: '#/$defs/allocatorSettings' },
      },
    },
    metric: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'figure', 'variant'],
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9_]{1,80}$' },
        figure: { enum: [...COMPARISON_FIGURES] },
        variant: id,
        vms: { type: 'array', items: id, minItems: 1, maxItems: 64 },
        tenants: { type: 'array', items: id, minItems: 1, maxItems: 64 },
        goal: { $ref: '#/$defs/goal' },
        reference: {
          description:
            "A number in a JSON file of the repository (another benchmark's results) set beside the metric in the " +
            'report, counted only when measured on the same seed; `within`: the goal |metric - reference| <= within.',
          type: 'object',
          additionalProperties: false,
          required: ['label', 'file', 'key'],
          properties: {
            label: { type: 'string', minLength: 1, maxLength: 300 },
            file: { type: 'string', pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*[.]json$' },
            key: { type: 'string', pattern: '^[A-Za-z0-9_]+([.][A-Za-z0-9_]+)*$' },
            seedKey: { type: 'string', pattern: '^[A-Za-z0-9_]+([.][A-Za-z0-9_]+)*$' },
            within: { type: 'number', minimum: 0 },
          },
        },
      },
    },
    comparison: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'figure', 'variant', 'against'],
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9_]{1,80}$' },
        figure: {
          enum: [...COMPARISON_FIGURES],
          description:
            "p99Us, p50Us: the worst of `vms`' receive latency; programNsPerFrame: the program time the switch " +
            'charged over `tenants` (default all) per frame they sent; switchCpuNsPerFrame: the switch process CPU per frame; ' +
            'satisfactionMean, satisfactionP5: share of windows with utility > 0.9 per tenant (Kafka ' +
            'allocator.utility-reports), mean and 5th percentile; decisionToInstalledP99Ms, relinks: from ' +
            'allocator.decisions; framesLost: switch drops, store losses, frames still waiting for CPU and uncounted frames over the run.',
        },
        vms: { type: 'array', items: id, minItems: 1, maxItems: 64 },
        tenants: { type: 'array', items: id, minItems: 1, maxItems: 64 },
        variant: id,
        against: id,
        goal: { $ref: '#/$defs/goal' },
        seed: {
          description: "The seed's published figure or claim this ratio answers, shown beside it in the report.",
          type: 'object',
          additionalProperties: false,
          required: ['source', 'figure'],
          properties: {
            source: { type: 'string', maxLength: 200 },
            figure: { type: 'string', maxLength: 500 },
            value: { type: 'number' },
          },
        },
      },
    },
    goal: {
      description: 'What the figure should be: at least, at most, or both (a range, atLeast <= atMost).',
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { atMost: { type: 'number' }, atLeast: { type: 'number' } },
    },
    msRange: {
      oneOf: [ms, { type: 'array', prefixItems: [ms, ms], minItems: 2, maxItems: 2 }],
    },
    program: {
      description: 'A program document, or the path of one (relative to the repository, such as programs/x.json).',
      oneOf: [{ type: 'string', minLength: 1, maxLength: 500 }, { type: 'object' }],
    },
    tenant: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'vms'],
      properties: {
        id,
        vms: { type: 'array', items: id, maxItems: 64 },
        caps: {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(
            ['maxVms', 'maxCircuits', 'maxPrograms', 'ringBytes', 'vmRingBytes', 'ringEntries', 'vmRingEntries'].map(
              (cap) => [cap, { type: 'integer', minimum: 0 }],
            ),
          ),
        },
        allow: {
          description: "Circuit policy: this tenant's VMs may open circuits to these services of other tenants.",
          type: 'array',
          maxItems: 64,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['to', 'service'],
            properties: { to: id, service },
          },
        },
        program: { $ref: '#/$defs/program' },
        cpuWeight: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
        traceSampling: { ...fraction, description: 'Share of its frames the switch traces.' },
      },
    },
    workload: {
      oneOf: [
        { $ref: '#/$defs/trafficWorkload' },
        { $ref: '#/$defs/transferWorkload' },
        { $ref: '#/$defs/pingWorkload' },
        { $ref: '#/$defs/echoWorkload' },
        { $ref: '#/$defs/replayWorkload' },
      ],
    },
    trafficWorkload: {
      description: 'Frames over the vNIC (POST /traffic/generate on `from`), paced, optionally in on/off phases.',
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'from', 'to', 'ratePps'],
      properties: {
        kind: { const: 'traffic' },
        from: id,
        to: { type: 'array', items: id, minItems: 1, maxItems: 64 },
        protocol: { enum: ['udp', 'tcp'] },
        ratePps: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        size: { type: 'integer', minimum: 64, maximum: 1500 },
        flows: { type: 'integer', minimum: 1, maximum: 55_536 },
        zipf: { type: 'number', exclusiveMinimum: 0, maximum: 10 },
        startMs: ms,
        stopMs: ms,
        phases: {
          description: 'On/off: send for onMs, pause for offMs, again; each [min, max] is drawn per phase.',
          type: 'object',
          additionalProperties: false,
          required: ['onMs', 'offMs'],
          properties: { onMs: { $ref: '#/$defs/msRange' }, offMs: { $ref: '#/$defs/msRange' } },
        },
      },
    },
    transferWorkload: {
      description: 'A verified transfer over a circuit (POST /workloads/send), repeated every everyMs.',
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'from', 'target', 'count', 'size'],
      properties: {
        kind: { const: 'transfer' },
        from: id,
        target,
        mode: { enum: ['stream', 'datagram'] },
        count: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        size: { type: 'integer', minimum: 4, maximum: 1_048_576 },
        everyMs: positiveMs,
        startMs: ms,
        stopMs: ms,
      },
    },
    pingWorkload: {
      description: 'Round trips over a datagram circuit (POST /workloads/ping), repeated every everyMs.',
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'from', 'target'],
      properties: {
        kind: { const: 'ping' },
        from: id,
        target,
        count: { type: 'integer', minimum: 1, maximum: 100_000 },
        size: { type: 'integer', minimum: 4, maximum: 65_536 },
        everyMs: positiveMs,
        startMs: ms,
        stopMs: ms,
      },
    },
    replayWorkload: {
      description:
        'The frames of a classic pcap file (Ethernet) sent from `from` (POST /traffic/replay) at their recorded ' +
        "times over speed, loops times; the source MAC becomes from's, the destination to's when `to` is given.",
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'from', 'pcap'],
      properties: {
        kind: { const: 'replay' },
        from: id,
        to: { ...id, description: "Written over every frame's destination MAC; omitted, each keeps its recorded one." },
        pcap: {
          type: 'string',
          minLength: 1,
          maxLength: 500,
          description: 'Path of the pcap file, relative to the scenario file.',
        },
        speed: { type: 'number', exclusiveMinimum: 0, maximum: 1000, description: 'Time scale (default 1).' },
        loops: { type: 'integer', minimum: 1, maximum: 10_000, description: 'Times the file is replayed (default 1).' },
        startMs: ms,
        stopMs: ms,
      },
    },
    echoWorkload: {
      description: 'An echo server on a VM (POST /workloads/echo), started before the timeline.',
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'vm', 'service'],
      properties: { kind: { const: 'echo' }, vm: id, service },
    },
    event: {
      oneOf: [
        { $ref: '#/$defs/killEvent' },
        { $ref: '#/$defs/pauseEvent' },
        { $ref: '#/$defs/restartEmptyEvent' },
        { $ref: '#/$defs/impairEvent' },
        { $ref: '#/$defs/clearImpairmentEvent' },
        { $ref: '#/$defs/programEvent' },
        { $ref: '#/$defs/cpuWeightEvent' },
        { $ref: '#/$defs/samplingEvent' },
      ],
    },
    killEvent: {
      description: 'Kill a component (SIGKILL, or docker kill); the lab starts it again. Done once it is ready.',
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'target'],
      properties: {
        kind: { const: 'kill' },
        ...common,
        target: { type: 'string', minLength: 1, description: 'switch, operator, allocator, telemetry, jaeger or a VM' },
      },
    },
    pauseEvent: {
      description: 'Freeze a component for forMs (SIGSTOP/SIGCONT, or docker pause/unpause): kafka, typically.',
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'target', 'forMs'],
      properties: { kind: { const: 'pause' }, ...common, target: { type: 'string', minLength: 1 }, forMs: positiveMs },
    },
    restartEmptyEvent: {
      description: 'Restart Redis empty (it keeps nothing on disk); the lab converges by itself.',
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'target'],
      properties: { kind: { const: 'restart-empty' }, ...common, target: { const: 'redis' } },
    },
    impairEvent: {
      description: "Impair a VM's port on the switch (operator PUT /vms/:id/impairment); cleared after forMs if given.",
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'vm'],
      properties: {
        kind: { const: 'impair' },
        ...common,
        vm: id,
        forMs: positiveMs,
        // The switch's own limits (ImpairmentSpecDto): an event the schema lets through is one the operator accepts.
        delayMs: { type: 'number', minimum: 0, maximum: MAX_IMPAIRMENT_DELAY_MS },
        jitterMs: { type: 'number', minimum: 0, maximum: MAX_IMPAIRMENT_DELAY_MS },
        lossRate: fraction,
        reorderRate: fraction,
        rateFramesPerSecond: { type: 'integer', minimum: 1, maximum: MAX_IMPAIRMENT_RATE_FPS },
        seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, description: 'Default: drawn from the seed.' },
      },
    },
    clearImpairmentEvent: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'vm'],
      properties: { kind: { const: 'clear-impairment' }, ...common, vm: id },
    },
    programEvent: {
      description: "Replace a tenant's program (PUT /program through one of its VMs).",
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'tenant', 'program'],
      properties: { kind: { const: 'program' }, ...common, tenant: id, program: { $ref: '#/$defs/program' } },
    },
    cpuWeightEvent: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'tenant', 'weight'],
      properties: {
        kind: { const: 'cpu-weight' },
        ...common,
        tenant: id,
        weight: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
      },
    },
    samplingEvent: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'atMs', 'tenant', 'rate'],
      properties: { kind: { const: 'sampling' }, ...common, tenant: id, rate: fraction },
    },
  },
};
