import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { mkdirSync } from 'node:fs';
import {
  DEFAULT_TENANT_QUOTA,
  FrameView,
  parseFrame,
  pcapFile,
  readPcap,
  validateProgram,
  ValidationError,
  vmMacAddress,
} from '@tenantlab/shared';
import { assertSupportedSchema, validateJson } from './json-schema';
import { loadScenario, parseScenario } from './scenario-loader';
import { SCENARIO_SCHEMA } from './scenario-schema';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');

const base = (): Record<string, unknown> => ({
  name: 'unit',
  durationMs: 10_000,
  tenants: [
    { id: 'tenant-a', vms: ['vm-a1', 'vm-a2'] },
    { id: 'tenant-b', vms: ['vm-b1'] },
  ],
});

/** The problems loading `changes` over a valid scenario names (none when it loads). */
function problems(changes: Record<string, unknown>): string[] {
  try {
    parseScenario({ ...base(), ...changes }, 'unit.json', REPO_ROOT);
    return [];
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    assert.match(error.message, /^unit\.json is invalid: /);
    return error.details;
  }
}

describe('scenario files', () => {
  it('the schema uses only keywords the evaluator enforces, and scenarios/scenario.schema.json is it written out', () => {
    assertSupportedSchema(SCENARIO_SCHEMA);
    assert.throws(() => assertSupportedSchema({ type: 'object', patternProperties: {} }), /unsupported keyword/);
    const written: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'scenarios', 'scenario.schema.json'), 'utf8'));
    assert.deepEqual(written, JSON.parse(JSON.stringify(SCENARIO_SCHEMA)));
    assert.equal(SCENARIO_SCHEMA['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  });

  it('loads every scenario in scenarios/ and the default lab file', () => {
    const files = readdirSync(join(REPO_ROOT, 'scenarios')).filter((f) => f.endsWith('.json') && !f.includes('schema'));
    assert.ok(files.includes('faults.json'));
    for (const file of [
      ...files.map((f) => join(REPO_ROOT, 'scenarios', f)),
      join(REPO_ROOT, 'labs', 'default.json'),
    ]) {
      assert.ok(loadScenario(file, REPO_ROOT).scenario.tenants.length > 0, file);
    }
  });

  it('accepts a scenario using every kind of workload and event', () => {
    assert.deepEqual(
      problems({
        seed: 7,
        collect: { intervalMs: 250, drainMs: 0 },
        tenants: [
          { id: 'tenant-a', vms: ['vm-a1', 'vm-a2'], allow: [{ to: 'tenant-b', service: 'db' }], cpuWeight: 2 },
          { id: 'tenant-b', vms: ['vm-b1'], program: 'programs/flow-counters.json', traceSampling: 0.5 },
        ],
        workloads: [
          { kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 100, phases: { onMs: [100, 200], offMs: 50 } },
          { kind: 'transfer', from: 'vm-a1', target: 'vm-b1/db', count: 10, size: 100, mode: 'datagram' },
          { kind: 'ping', from: 'vm-a1', target: 'vm-a2/echo', everyMs: 500 },
          { kind: 'echo', vm: 'vm-a2', service: 'echo' },
        ],
        timeline: [
          { kind: 'kill', atMs: 1000, target: 'switch' },
          { kind: 'pause', atMs: [1000, 2000], target: 'kafka', forMs: 500 },
          { kind: 'restart-empty', atMs: 3000, target: 'redis' },
          { kind: 'impair', atMs: 4000, vm: 'vm-a2', delayMs: 5, lossRate: 0.01, forMs: 1000 },
          { kind: 'clear-impairment', atMs: 6000, vm: 'vm-a2' },
          { kind: 'program', atMs: 7000, tenant: 'tenant-a', program: { name: 'x' } },
          { kind: 'cpu-weight', atMs: 8000, tenant: 'tenant-a', weight: 3 },
          { kind: 'sampling', atMs: 9000, tenant: 'tenant-b', rate: 0 },
        ],
      }),
      [],
    );
  });

  it("takes the operator's per-tenant caps in tenants[].caps, ringEntries among them, and refuses one negative", () => {
    const tenant = { id: 'tenant-a', vms: ['vm-a1'] };
    assert.deepEqual(problems({ tenants: [{ ...tenant, caps: { ringEntries: 4096, vmRingEntries: 2048 } }] }), []);
    assert.deepEqual(problems({ tenants: [{ ...tenant, caps: { ringEntries: -1 } }] }), [
      'tenants[0].caps.ringEntries: must be at least 0',
    ]);
  });

  // One case per kind of error, each with the path it must name.
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a wrong type', { durationMs: 'long' }, /^durationMs: expected integer, got string$/],
    ['a missing field', { tenants: [{ id: 'tenant-a' }] }, /^tenants\[0\]\.vms: required$/],
    [
      'an unknown field',
      { timeline: [{ kind: 'kill', atMs: 1, target: 'switch', when: 2 }] },
      /^timeline\[0\]\.when: unknown field$/,
    ],
    ['a value out of range', { collect: { intervalMs: 5 } }, /^collect\.intervalMs: must be at least 100$/],
    ['a bad id', { tenants: [{ id: 'Tenant A', vms: [] }] }, /^tenants\[0\]\.id: does not match/],
    [
      'an unknown enum value',
      { workloads: [{ kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 1, protocol: 'icmp' }] },
      /^workloads\[0\]\.protocol: expected one of "udp", "tcp"$/,
    ],
    [
      'an unknown event kind',
      { timeline: [{ kind: 'explode', atMs: 1 }] },
      /^timeline\[0\]\.kind: expected one of "kill", "pause"/,
    ],
    [
      'a missing field of an event kind',
      { timeline: [{ kind: 'pause', atMs: 1, target: 'kafka' }] },
      /^timeline\[0\]\.forMs: required$/,
    ],
    [
      'a bad range',
      { timeline: [{ kind: 'kill', atMs: [1, 2, 3], target: 'switch' }] },
      /^timeline\[0\]\.atMs: matches none of the 2 choices$/,
    ],
    [
      'a fraction above 1',
      { timeline: [{ kind: 'impair', atMs: 1, vm: 'vm-a1', lossRate: 2 }] },
      /^timeline\[0\]\.lossRate: must be at most 1$/,
    ],
    [
      'an unknown VM',
      { workloads: [{ kind: 'traffic', from: 'vm-a1', to: ['vm-zz'], ratePps: 1 }] },
      /^workloads\[0\]\.to\[0\]: no VM vm-zz/,
    ],
    [
      'an unknown tenant',
      { timeline: [{ kind: 'sampling', atMs: 1, tenant: 'tenant-z', rate: 1 }] },
      /^timeline\[0\]\.tenant: no tenant tenant-z/,
    ],
    [
      'an unknown component',
      { timeline: [{ kind: 'kill', atMs: 1, target: 'dns' }] },
      /^timeline\[0\]\.target: no component dns/,
    ],
    [
      'a time after the end',
      { timeline: [{ kind: 'kill', atMs: 20_000, target: 'switch' }] },
      /^timeline\[0\]\.atMs: 20000 ms is after the end of the run/,
    ],
    [
      'a range out of order',
      { timeline: [{ kind: 'kill', atMs: [500, 100], target: 'switch' }] },
      /^timeline\[0\]\.atMs: \[min, max\] with min above max$/,
    ],
    [
      'a workload that stops before it starts',
      { workloads: [{ kind: 'ping', from: 'vm-a1', target: 'x', startMs: 500, stopMs: 100 }] },
      /^workloads\[0\]\.stopMs: must be after startMs$/,
    ],
    [
      'a program file that is not there',
      { tenants: [{ id: 'tenant-a', vms: ['vm-a1'], program: 'programs/none.json' }] },
      /^tenants\[0\]\.program: cannot read program programs\/none\.json/,
    ],
    [
      'a policy naming an unknown tenant',
      { tenants: [{ id: 'tenant-a', vms: ['vm-a1'], allow: [{ to: 'tenant-q', service: 'db' }] }] },
      /^tenants\[0\]\.allow\[0\]\.to: no tenant tenant-q/,
    ],
    [
      'a VM in two tenants',
      {
        tenants: [
          { id: 'tenant-a', vms: ['vm-1'] },
          { id: 'tenant-b', vms: ['vm-1'] },
        ],
      },
      /^tenants\[1\]\.vms\[0\]: duplicate VM vm-1$/,
    ],
  ];
  for (const [kind, changes, expected] of cases) {
    it(`names ${kind} with its path`, () => {
      const found = problems(changes);
      assert.ok(
        found.some((p) => expected.test(p)),
        `expected ${expected} in ${JSON.stringify(found)}`,
      );
    });
  }

  it('checks allocator settings and metrics, in a variant as in the scenario', () => {
    const variants = [
      { name: 'static', allocator: { reallocation: 'static' } },
      { name: 'live', allocator: { reallocation: 'live', stages: 2 } },
    ];
    const metrics = [{ name: 'satisfaction_mean_live', figure: 'satisfactionMean', variant: 'live' }];
    assert.deepEqual(problems({ allocator: { registerCellsPerStage: 32768, settleMs: 300 }, variants, metrics }), []);
    assert.deepEqual(problems({ switch: { utilityWindowMs: 2000, utilityWindowReset: true } }), []);
    const wrong = problems({
      allocator: { reallocation: 'sometimes' },
      variants: [variants[0], { name: 'live', allocator: { stages: 0 } }],
      metrics: [
        { name: 'x', figure: 'satisfactionMean', variant: 'nowhere' },
        { name: 'y', figure: 'happiness', variant: 'live' },
      ],
    });
    assert.ok(
      wrong.some((p) => p.startsWith('allocator.reallocation:')),
      wrong.join('\n'),
    );
    assert.ok(
      wrong.some((p) => p.startsWith('variants[1].allocator.stages:')),
      wrong.join('\n'),
    );
    assert.ok(
      wrong.some((p) => p.startsWith('metrics[1].figure:')),
      wrong.join('\n'),
    );
    assert.ok(
      problems({ variants, metrics: [{ name: 'x', figure: 'relinks', variant: 'nowhere' }] }).includes(
        'metrics[0].variant: no variant nowhere in variants[]',
      ),
    );
  });

  it('refuses a figure its variant cannot give, and two comparisons or metrics of one name', () => {
    const variants = [{ name: 'plain' }, { name: 'live', allocator: { reallocation: 'live' } }];
    assert.deepEqual(
      problems({
        variants,
        metrics: [
          { name: 'sat', figure: 'satisfactionMean', variant: 'plain' },
          { name: 'p99', figure: 'p99Us', variant: 'live', vms: ['vm-zz'] },
          { name: 'lost', figure: 'framesLost', variant: 'plain', tenants: ['tenant-zz'] },
        ],
        comparisons: [{ name: 'sat', figure: 'relinks', variant: 'live', against: 'plain' }],
      }),
      [
        'comparisons[0].figure: relinks needs allocator settings, and variant plain has none',
        'metrics[0].name: a second comparison or metric called sat',
        'metrics[0].figure: satisfactionMean needs allocator settings, and variant plain has none',
        'metrics[1].vms[0]: variant live has no VM vm-zz',
        'metrics[2].tenants[0]: variant plain has no tenant tenant-zz',
      ],
    );
  });

  it('refuses a goal no figure can meet, and a goal that says nothing', () => {
    const variants = [{ name: 'plain' }, { name: 'other' }];
    const lost = { figure: 'framesLost', variant: 'plain' };
    assert.deepEqual(
      problems({
        variants,
        comparisons: [
          { ...lost, name: 'r', against: 'other', goal: { atLeast: 2, atMost: 1 } },
          { ...lost, name: 'ok', against: 'other', goal: { atLeast: 1, atMost: 1 } },
        ],
        metrics: [{ ...lost, name: 'm', goal: { atLeast: 0.5, atMost: 0.25 } }],
      }),
      [
        'comparisons[0].goal: atLeast 2 is more than atMost 1, so no figure can meet it',
        'metrics[0].goal: atLeast 0.5 is more than atMost 0.25, so no figure can meet it',
      ],
    );
    assert.deepEqual(problems({ variants, metrics: [{ ...lost, name: 'e', goal: {} }] }), [
      'metrics[0].goal: expected at least 1 of atMost, atLeast',
    ]);
  });

  it('merge-different: every VM that receives traffic also sends, as a host answering ARP would (README)', () => {
    const { scenario } = loadScenario(join(REPO_ROOT, 'scenarios', 'merge-different.json'), REPO_ROOT);
    const traffic = (scenario.workloads ?? []).filter((w) => w.kind === 'traffic');
    const senders = new Set(traffic.map((w) => w.from));
    const silent = traffic.flatMap((w) => w.to).filter((vm) => !senders.has(vm));
    assert.deepEqual(silent, [], 'receivers that never send');
    const oneTenant = scenario.variants?.find((v) => v.name === 'one-tenant');
    assert.equal(oneTenant?.switch, undefined, 'the one-tenant variant runs at the default quantum');
  });

  it("noisy-neighbour: the README's shares (55 ms/s a tenant) and the greedy tenant's long task at 10 times its own", () => {
    const { scenario } = loadScenario(join(REPO_ROOT, 'scenarios', 'noisy-neighbour.json'), REPO_ROOT);
    const budget = scenario.switch?.programCpuNsPerSecond ?? 0;
    const weights = scenario.tenants.map((t) => t.cpuWeight ?? 1);
    const total = weights.reduce((sum, w) => sum + w, 0);
    const shareMs = (id: string): number =>
      (budget * (scenario.tenants.find((t) => t.id === id)?.cpuWeight ?? 1)) / total / 1e6;
    assert.equal(shareMs('victim-1').toFixed(2), '55.00');
    assert.equal(shareMs('greedy').toFixed(2), '55.00');
    // 2 000 frames/s of a 1 024-op program (about 0.28 ms a frame here): 560 ms/s offered, about 10 shares.
    const greedy = scenario.tenants.find((t) => t.id === 'greedy');
    const rate = scenario.workloads?.find((w) => w.kind === 'traffic' && w.from === 'vm-ga');
    assert.equal(rate?.kind === 'traffic' ? rate.ratePps : undefined, 2000);
    assert.equal(greedy?.program, 'scenarios/programs/long-task.json');
    const document: unknown = JSON.parse(
      readFileSync(join(REPO_ROOT, 'scenarios', 'programs', 'long-task.json'), 'utf8'),
    );
    const program = validateProgram(document, {
      tenant: 'greedy',
      vms: greedy?.vms ?? [],
      quota: {
        ...DEFAULT_TENANT_QUOTA,
        actionOpsPerPacket: scenario.allocator?.tenantOpsPerPacket ?? 0,
        tables: scenario.allocator?.tenantTables ?? 0,
      },
    });
    assert.deepEqual([program.resources.maxOpsPerPacket, program.resources.tables], [1024, 32]);
    assert.throws(
      () => validateProgram(document, { tenant: 'greedy', vms: [], quota: DEFAULT_TENANT_QUOTA }),
      (error: unknown) =>
        error instanceof ValidationError && error.details.some((d) => /1024 ops per packet .* quota of 32/.test(d)),
      'the default quota refuses it: the scenario raises it',
    );
  });

  it('heavy-hitter-64 is 64 tenants on flow-table, static against live, with the figures issue 12 names', () => {
    const { scenario } = loadScenario(join(REPO_ROOT, 'scenarios', 'heavy-hitter-64.json'), REPO_ROOT);
    assert.equal(scenario.tenants.length, 64);
    assert.ok(scenario.tenants.every((t) => t.program === 'scenarios/programs/flow-table-by-port.json'));
    assert.ok(scenario.workloads?.every((w) => w.kind === 'traffic' && w.phases !== undefined));
    assert.deepEqual(
      scenario.variants?.map((v) => [v.name, v.allocator?.reallocation]),
      [
        ['static', 'static'],
        ['live', 'live'],
      ],
    );
    const names = (scenario.metrics ?? []).map((m) => m.name);
    for (const name of [
      'satisfaction_mean_live',
      'satisfaction_p5_live',
      'decision_to_installed_p99_ms',
      'frames_lost_relink',
    ]) {
      assert.ok(names.includes(name), name);
    }
    // Issue 12: within 0.05 of the in-process model's run of the same file on the same seed (bench/src/allocation.bench.ts).
    const live = scenario.metrics?.find((m) => m.name === 'satisfaction_mean_live')?.reference;
    assert.deepEqual(
      [live?.file, live?.key, live?.seedKey, live?.within],
      [
        'bench/results/allocation.json',
        'metrics.scenario_satisfaction_mean_utility_driven',
        'setup.scenario_seed',
        0.05,
      ],
    );
    // The goals the README states for it.
    const goals = Object.fromEntries(
      [...(scenario.metrics ?? []), ...(scenario.comparisons ?? [])].map((f) => [f.name, f.goal]),
    );
    assert.deepEqual(goals['decision_to_installed_p99_ms'], { atMost: 1000 });
    assert.deepEqual(goals['relinks_live'], { atLeast: 10 });
    assert.deepEqual(goals['frames_lost_relink'], { atMost: 0 });
    assert.deepEqual(goals['live_vs_static_mean'], { atLeast: 1.1 });
  });

  it('scenarios/heavy-hitter-64.json is what scripts/heavy-hitter-64.mjs writes', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hh64-')), 'hh.json');
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'heavy-hitter-64.mjs'), '--out', out], {
      stdio: 'pipe',
    });
    const committed: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'scenarios', 'heavy-hitter-64.json'), 'utf8'));
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), committed);
    // A smaller copy is not what the in-process model runs: nothing to set beside its figures.
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'heavy-hitter-64.mjs'), '--tenants', '2', '--out', out],
      {
        stdio: 'pipe',
      },
    );
    const small = JSON.parse(readFileSync(out, 'utf8')) as { metrics: { reference?: unknown }[] };
    assert.ok(small.metrics.length > 0 && small.metrics.every((m) => m.reference === undefined));
  });

  describe('replay workloads', () => {
    /** A folder with a scenario file and, under it, pcaps/ok.pcap (two frames) and pcaps/ng.pcap (pcapng). */
    function folder(workload: Record<string, unknown>): string {
      const dir = mkdtempSync(join(tmpdir(), 'scenario-replay-'));
      mkdirSync(join(dir, 'pcaps'));
      const frame = { bytes: Buffer.alloc(60, 1), originalLength: 60 };
      writeFileSync(
        join(dir, 'pcaps', 'ok.pcap'),
        pcapFile(
          [
            { ...frame, timestampUs: 1e12 },
            { ...frame, timestampUs: 1e12 + 5000 },
          ],
          9216,
        ),
      );
      const pcapng = Buffer.alloc(28);
      pcapng.writeUInt32LE(0x0a0d0d0a, 0);
      writeFileSync(join(dir, 'pcaps', 'ng.pcap'), pcapng);
      writeFileSync(
        join(dir, 'replay.json'),
        JSON.stringify({ ...base(), workloads: [{ kind: 'replay', ...workload }] }),
      );
      return join(dir, 'replay.json');
    }

    const problemsOf = (file: string): string[] => {
      try {
        loadScenario(file, REPO_ROOT);
        return [];
      } catch (error) {
        assert.ok(error instanceof ValidationError, String(error));
        return error.details;
      }
    };

    it('reads the pcap once, from a path relative to the scenario file (not the repository)', () => {
      const loaded = loadScenario(folder({ from: 'vm-a1', to: 'vm-a2', pcap: 'pcaps/ok.pcap' }), REPO_ROOT);
      const capture = loaded.pcaps.get('pcaps/ok.pcap');
      assert.deepEqual(
        capture?.records.map((r) => r.offsetNs),
        [0, 5_000_000],
      );
    });

    it('names the workload and what is wrong: a missing file, pcapng, an unknown VM, speed and loops', () => {
      assert.match(
        problemsOf(folder({ from: 'vm-a1', pcap: 'pcaps/none.pcap' }))[0] ?? '',
        /^workloads\[0\]\.pcap: cannot read pcap .*none\.pcap/,
      );
      assert.match(
        problemsOf(folder({ from: 'vm-a1', pcap: 'pcaps/ng.pcap' }))[0] ?? '',
        /^workloads\[0\]\.pcap: .*ng\.pcap: a pcapng file/,
      );
      assert.deepEqual(problemsOf(folder({ from: 'vm-a1', to: 'vm-zz', pcap: 'pcaps/ok.pcap' })), [
        'workloads[0].to: no VM vm-zz in tenants[].vms',
      ]);
      const schema = problems({ workloads: [{ kind: 'replay', from: 'vm-a1', pcap: 'x', speed: 0, loops: 0 }] });
      assert.ok(
        schema.some((p) => p.includes('speed')),
        schema.join('; '),
      );
      assert.ok(
        schema.some((p) => p.includes('loops')),
        schema.join('; '),
      );
    });

    it('scenarios/pcaps/udp-a2-to-a1.pcap is what scripts/replay-sample-pcap.mjs writes: 256 valid UDP frames', () => {
      const out = join(mkdtempSync(join(tmpdir(), 'replay-sample-')), 'sample.pcap');
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'replay-sample-pcap.mjs'), '--out', out], {
        stdio: 'pipe',
      });
      const committed = readFileSync(join(REPO_ROOT, 'scenarios', 'pcaps', 'udp-a2-to-a1.pcap'));
      assert.ok(readFileSync(out).equals(committed), 'the committed file is the script output');
      assert.ok(committed.length < 100 * 1024, `${committed.length} bytes`);
      assert.equal(Math.round(committed.length / 1000), 56, 'the README says 56 KB');
      const { records } = readPcap(committed, 'sample');
      assert.equal(records.length, 256);
      assert.equal(Math.round((records.at(-1)?.offsetNs ?? 0) / 1e8) / 10, 2.5, 'the README says over 2.5 s');
      const view = new FrameView();
      for (const record of records) {
        assert.equal(parseFrame(record.bytes, view), undefined, 'a frame the switch and the receiver take');
        assert.ok(record.bytes.length >= 64 && record.bytes.length <= 512, `${record.bytes.length} bytes`);
        assert.equal(record.bytes.subarray(6, 12).toString('hex'), vmMacAddress('vm-a2').replace(/:/g, ''));
      }
    });
  });

  it('reports every problem at once', () => {
    const found = problems({ durationMs: 'x', seed: -1, timeline: [{ kind: 'kill' }] });
    assert.ok(found.length >= 4, JSON.stringify(found));
  });

  it('says when a file is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    assert.throws(() => loadScenario(join(dir, 'bad.json'), REPO_ROOT), /is not valid JSON/);
    assert.throws(() => loadScenario(join(dir, 'none.json'), REPO_ROOT), /cannot read scenario file/);
  });

  it('evaluates if/then/else, const and prefixItems', () => {
    const schema = {
      type: 'object',
      if: { properties: { a: { const: 1 } } },
      then: { required: ['b'] },
      else: { required: ['c'] },
      properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'integer' } } },
    };
    assert.deepEqual(validateJson(schema, { a: 1 }), ['b: required']);
    assert.deepEqual(validateJson(schema, { a: 2 }), ['c: required']);
    assert.deepEqual(validateJson(schema, { a: 1, b: 0, pair: [1, 'x'] }), [
      'pair[0]: expected string, got integer',
      'pair[1]: expected integer, got string',
    ]);
  });

  describe('variants and comparisons', () => {
    const variants = {
      switch: { programCpuNsPerSecond: 4_000_000 },
      workloads: [
        { kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 10 },
        { kind: 'traffic', from: 'vm-b1', to: ['vm-b1'], ratePps: 10 },
      ],
      variants: [
        { name: 'with' },
        { name: 'without', withoutTenants: ['tenant-b'] },
        { name: 'off', switch: { programCpuNsPerSecond: 1_000_000_000_000, programCpuBurstNs: 1_000_000_000_000 } },
      ],
      comparisons: [
        {
          name: 'p99_with_vs_without',
          figure: 'p99Us',
          vms: ['vm-a2'],
          variant: 'with',
          against: 'without',
          goal: { atMost: 1.2 },
          seed: { source: 'seed 000', figure: 'limited interruptions' },
        },
        { name: 'cpu', figure: 'switchCpuNsPerFrame', variant: 'off', against: 'with' },
      ],
    };

    it('accepts variants that leave tenants out, replace the switch settings, and comparisons between them', () => {
      assert.deepEqual(problems(variants), []);
    });

    for (const [what, changes, expected] of [
      ['a variant without a name', { variants: [{}, { name: 'b' }] }, /^variants\[0\]\.name: required$/],
      ['a single variant', { variants: [{ name: 'a' }] }, /^variants: expected at least 2 items$/],
      [
        'an unknown field in a variant',
        { variants: [{ name: 'a', timeline: [] }, { name: 'b' }] },
        /^variants\[0\]\.timeline: unknown field$/,
      ],
      [
        'a switch setting out of range',
        { variants: [{ name: 'a', switch: { programCpuNsPerSecond: 1 } }, { name: 'b' }] },
        /^variants\[0\]\.switch\.programCpuNsPerSecond: must be at least 1000$/,
      ],
      [
        'two variants of one name',
        { variants: [{ name: 'a' }, { name: 'a' }] },
        /^variants\[1\]\.name: a second variant called a$/,
      ],
      [
        'a tenant to leave out that does not exist',
        { variants: [{ name: 'a', withoutTenants: ['tenant-q'] }, { name: 'b' }] },
        /^variants\[0\]\.withoutTenants\[0\]: no tenant tenant-q in tenants\[\]$/,
      ],
      [
        'a variant whose own workload names a VM it does not have',
        {
          variants: [
            { name: 'a', tenants: [{ id: 'tenant-a', vms: ['vm-a1'] }] },
            { name: 'b', workloads: [{ kind: 'traffic', from: 'vm-a1', to: ['vm-zz'], ratePps: 1 }] },
          ],
          workloads: [{ kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 1 }],
        },
        /^variants\[0\] \(a\): workloads\[0\]\.to\[0\]: no VM vm-a2 in tenants\[\]\.vms$/,
      ],
      [
        'a variant that leaves every tenant out',
        { variants: [{ name: 'a', withoutTenants: ['tenant-a', 'tenant-b'] }, { name: 'b' }] },
        /^variants\[0\]\.withoutTenants: leaves no tenant$/,
      ],
      [
        'a comparison of a variant that does not exist',
        { ...variants, comparisons: [{ name: 'x', figure: 'switchCpuNsPerFrame', variant: 'with', against: 'nope' }] },
        /^comparisons\[0\]\.against: no variant nope in variants\[\]$/,
      ],
      [
        'a latency comparison without VMs',
        { ...variants, comparisons: [{ name: 'x', figure: 'p99Us', variant: 'with', against: 'off' }] },
        /^comparisons\[0\]\.vms: required for a latency figure$/,
      ],
      [
        'a comparison of a VM one of the variants leaves out',
        {
          ...variants,
          comparisons: [{ name: 'x', figure: 'p50Us', vms: ['vm-b1'], variant: 'with', against: 'without' }],
        },
        /^comparisons\[0\]\.vms\[0\]: variant without has no VM vm-b1$/,
      ],
      [
        'comparisons without variants',
        { comparisons: [{ name: 'x', figure: 'switchCpuNsPerFrame', variant: 'a', against: 'b' }] },
        /^comparisons\[0\]: comparisons need variants to compare$/,
      ],
      [
        'an unknown figure',
        { ...variants, comparisons: [{ name: 'x', figure: 'p95Us', variant: 'with', against: 'off' }] },
        /^comparisons\[0\]\.figure: /,
      ],
    ] as const) {
      it(`names ${what} with its path`, () => {
        const found = problems(changes);
        assert.ok(
          found.some((p) => expected.test(p)),
          `expected ${String(expected)} in ${JSON.stringify(found)}`,
        );
      });
    }
  });
});
