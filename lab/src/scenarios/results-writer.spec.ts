import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accountFor, findDips, toSeries } from './analysis';
import type { Sample } from './collector';
import { type RunResults, writeResults } from './results-writer';
import { planScenario } from './scenario-plan';
import type { Scenario } from './scenario';

const scenario: Scenario = {
  name: 'unit',
  seed: 3,
  durationMs: 4000,
  tenants: [{ id: 'tenant-a', vms: ['vm-a1'] }],
  timeline: [{ kind: 'kill', atMs: 2000, target: 'switch', label: 'switch killed' }],
};

function sample(tMs: number, frames: number): Sample {
  return {
    tMs,
    vms: { 'vm-a1': { sent: frames, received: frames, duplicates: 0, lostInStore: 0, ledgers: 0 } },
    vmsUp: 1,
    switchUp: tMs !== 2500,
    switch: { rxFrames: frames, txFrames: frames, drops: 0, dropsByReason: {}, waitingForCpu: 0 },
  };
}

describe('writeResults', () => {
  it('writes the scenario with its seed, the series as CSV and JSON, plots and a report with the tables', () => {
    const plan = planScenario(scenario, 8);
    const samples = [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000].map((t, i) => sample(t, i * 100));
    const series = toSeries(samples);
    const results: RunResults = {
      scenario,
      source: 'scenarios/unit.json',
      mode: 'local',
      plan,
      startedAt: '2026-12-01T00:00:00.000Z',
      events: [
        {
          index: 0,
          label: 'switch killed',
          kind: 'kill',
          atMs: 2000,
          startedMs: 2001,
          endedMs: 3500,
          ok: false,
          result: 'boom',
        },
      ],
      workloads: [],
      samples,
      series,
      dips: findDips(series, plan.events, plan.durationMs),
      accounting: accountFor(samples.at(-1)),
      vmMemory: {
        ready: { vms: 2, p10MiB: 90, p50MiB: 90, p90MiB: 94.5, maxMiB: 94.5, totalMiB: 184.5 },
        end: { vms: 2, p10MiB: 96, p50MiB: 96, p90MiB: 99, maxMiB: 99, totalMiB: 195 },
      },
      failures: ['event timeline[0] (switch killed) failed: boom'],
    };
    const dir = join(mkdtempSync(join(tmpdir(), 'results-')), 'out');
    const files = writeResults(dir, results);
    for (const file of [
      'scenario.json',
      'plan.json',
      'timeseries.csv',
      'timeseries.json',
      'summary.json',
      'report.md',
    ]) {
      assert.ok(files.includes(file), file);
    }
    assert.equal((JSON.parse(readFileSync(join(dir, 'scenario.json'), 'utf8')) as { seed: number }).seed, 8);
    const csv = readFileSync(join(dir, 'timeseries.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + samples.length);
    assert.equal(csv[6], '2500,500,500,0,0,0,200,200,0,1,');
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(report, /seed \*\*8\*\*/);
    assert.match(report, /\*\*failed\*\*: event timeline\[0\] \(switch killed\) failed: boom/);
    assert.match(report, /\| 2\.0 \| switch killed \| 1\.5 \| FAILED: boom \|/);
    assert.match(report, /\| 800 \| 800 \| 0 \| 0 \| 0 \| 0 \| 0 \|/);
    assert.match(report, /## Memory per tenant VM/);
    assert.match(report, /\| lab up, idle \| 2 \| 90 \| 90 \| 94\.5 \| 94\.5 \| 184\.5 \|/);
    assert.match(report, /\| end of the timeline, under the workloads \| 2 \| 96 \| 96 \| 99 \| 99 \| 195 \|/);
    assert.match(report, /!\[received-rate\.svg\]\(received-rate\.svg\)/);
    const svg = readFileSync(join(dir, 'received-rate.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<polyline/);
    assert.match(svg, />switch killed</);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      ok: boolean;
      seed: number;
      vmMemory?: { end?: { p50MiB: number } };
    };
    assert.deepEqual([summary.ok, summary.seed, summary.vmMemory?.end?.p50MiB], [false, 8, 96]);
  });
});
