#!/usr/bin/env node
// Writes scenarios/heavy-hitter-64.json (issue 12): seed 004's heavy-hitter experiment as a scenario. The committed
// JSON is what users run (this script's output, then prettier); it also makes smaller copies for a quick run:
//   node scripts/heavy-hitter-64.mjs                          # the committed file, 64 tenants
//   node scripts/heavy-hitter-64.mjs --tenants 16 --out /tmp/hh16.json
// Every tenant's flows and rate are drawn here from a fixed seed; its on/off phases are drawn by the runner from the
// scenario's seed. The register memory scales with the tenants, so each has the same equal share (496 slots) as in
// the in-process `allocation` benchmark (2 stages x 32768 cells for 64 tenants).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const usage = 'usage: node scripts/heavy-hitter-64.mjs [--tenants 1-64] [--duration-ms N] [--out FILE]';
let values;
try {
  // Strict: a misspelt flag is an error, not the committed 64-tenant file written over.
  ({ values } = parseArgs({
    options: { tenants: { type: 'string' }, 'duration-ms': { type: 'string' }, out: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
const positiveInteger = (name, text, max) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    console.error(`--${name} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}\n${usage}`);
    process.exit(2);
  }
  return value;
};
const tenants = positiveInteger('tenants', values.tenants ?? '64', 64);
const durationMs = positiveInteger('duration-ms', values['duration-ms'] ?? '60000', 3_600_000);
// A smaller copy never lands on the committed file unless --out names it.
const out = values.out ?? join(import.meta.dirname, '..', 'scenarios', `heavy-hitter-${tenants}.json`);

// The project's own seeded PRNG (libs/shared, built by `npm run build`), so the draws here are the lab's draws.
const { mulberry32 } = loadShared();
const random = mulberry32(2026);
const logUniform = (low, high) => Math.round(Math.exp(Math.log(low) + random() * (Math.log(high) - Math.log(low))));

const ids = Array.from({ length: tenants }, (_, t) => `hh-${String(t).padStart(2, '0')}`);
// The in-process model (npm run bench -- allocation) runs scenarios/heavy-hitter-64.json as committed: a smaller or
// shorter copy has no model figure to set beside its own.
const modelled = tenants === 64 && durationMs === 60000;
const inProcess = (reference) => (modelled ? { reference } : {});
const scenario = {
  $schema: './scenario.schema.json',
  name: tenants === 64 ? 'heavy-hitter-64' : `heavy-hitter-${tenants}`,
  description:
    `Seed 004's heavy-hitter experiment on the running lab: ${tenants} tenants, each two VMs (a sender and a receiver: ` +
    'the switch does not hairpin a frame to the port it came from), each running flow-table keyed on the source port ' +
    '(scenarios/programs/flow-table-by-port.json, 496 slots: an equal share of 2 stages x 32768 cells among 64). ' +
    'Each tenant sends UDP over its own number of flows (log-uniform 16 to 1500, Zipf 1) at its own rate ' +
    "(40 to 120 frames/s), in on/off phases drawn from the seed. The switch reports every program's hit ratio per " +
    '2 s window on Kafka; the allocator keeps the equal split (static) or re-links the pipeline by its utility policy ' +
    'after every window (live). Satisfaction: share of windows with traffic whose utility is above 0.9.',
  seed: 4,
  durationMs,
  collect: { intervalMs: 2000, drainMs: 15000, warmupMs: Math.min(10000, Math.round(durationMs / 6)) },
  switch: {
    programCpuNsPerSecond: 1_000_000_000_000,
    programCpuBurstNs: 1_000_000_000_000,
    utilityWindowMs: 2000,
    utilityWindowReset: false,
  },
  allocator: {
    reallocation: 'live',
    settleMs: 300,
    stages: 2,
    registerCellsPerStage: Math.round((32768 * tenants) / 64),
    opsPerPacket: 1_000_000,
  },
  tenants: ids.map((id) => ({
    id,
    vms: [`${id}-tx`, `${id}-rx`],
    program: 'scenarios/programs/flow-table-by-port.json',
    traceSampling: 0,
  })),
  workloads: ids.map((id) => ({
    kind: 'traffic',
    from: `${id}-tx`,
    to: [`${id}-rx`],
    ratePps: logUniform(40, 120),
    size: 64,
    flows: logUniform(16, 1500),
    zipf: 1,
    phases: { onMs: [4000, 16000], offMs: [2000, 8000] },
  })),
  variants: [
    {
      name: 'static',
      description: 'ALLOCATOR_REALLOCATION=static: every tenant keeps its equal share',
      allocator: { reallocation: 'static' },
    },
    {
      name: 'live',
      description: 'ALLOCATOR_REALLOCATION=live: re-linked by the utility policy after every window',
      allocator: { reallocation: 'live' },
    },
  ],
  comparisons: [
    {
      name: 'live_vs_static_mean',
      figure: 'satisfactionMean',
      variant: 'live',
      against: 'static',
      goal: { atLeast: 1.1 },
      seed: {
        source: 'seed 004 (run-time memory allocation)',
        figure: 'utility-driven reallocation satisfies tenants more often than a static split',
      },
    },
    { name: 'live_vs_static_p5', figure: 'satisfactionP5', variant: 'live', against: 'static' },
  ],
  metrics: [
    {
      name: 'satisfaction_mean_live',
      figure: 'satisfactionMean',
      variant: 'live',
      ...inProcess({
        label: "the in-process `allocation` benchmark's run of this file, utility-driven (npm run bench -- allocation)",
        file: 'bench/results/allocation.json',
        key: 'metrics.scenario_satisfaction_mean_utility_driven',
        seedKey: 'setup.scenario_seed',
        within: 0.05,
      }),
    },
    { name: 'satisfaction_p5_live', figure: 'satisfactionP5', variant: 'live' },
    {
      name: 'satisfaction_mean_static',
      figure: 'satisfactionMean',
      variant: 'static',
      ...inProcess({
        label: "the in-process `allocation` benchmark's run of this file, static (npm run bench -- allocation)",
        file: 'bench/results/allocation.json',
        key: 'baseline.scenario_satisfaction_mean_static',
        seedKey: 'setup.scenario_seed',
      }),
    },
    { name: 'satisfaction_p5_static', figure: 'satisfactionP5', variant: 'static' },
    {
      name: 'decision_to_installed_p99_ms',
      figure: 'decisionToInstalledP99Ms',
      variant: 'live',
      goal: { atMost: 1000 },
    },
    { name: 'relinks_live', figure: 'relinks', variant: 'live', goal: { atLeast: 10 } },
    { name: 'frames_lost_relink', figure: 'framesLost', variant: 'live', goal: { atMost: 0 } },
    { name: 'frames_lost_static', figure: 'framesLost', variant: 'static', goal: { atMost: 0 } },
  ],
};
writeFileSync(out, `${JSON.stringify(scenario, null, 2)}\n`);
console.log(`wrote ${out}: ${tenants} tenants`);

function loadShared() {
  try {
    return createRequire(import.meta.url)('@tenantlab/shared');
  } catch (error) {
    console.error(`cannot load @tenantlab/shared (${error.message}): run npm ci and npm run build first`);
    process.exit(1);
  }
}
