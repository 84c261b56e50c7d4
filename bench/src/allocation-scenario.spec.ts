import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseScenario } from '@tenantlab/lab';
import { type ScenarioModel, scenarioModel, runScenarioMode } from './allocation-scenario';

const REPO_ROOT = join(__dirname, '..', '..');
/** Where the UDP source port sits in an untagged IPv4 frame: Ethernet 14 bytes, IPv4 20. */
const SRC_PORT_OFFSET = 34;

/**
 * Two tenants of heavy-hitter-64's kind over 20 s: `small` sends 20 flows all the time (fits its 496 slots), `large`
 * 1500 flows with an off phase (does not), so the static split leaves it unsatisfied and reallocation has work.
 */
function model(): ScenarioModel {
  const tenant = (id: string): Record<string, unknown> => ({
    id,
    vms: [`${id}-tx`, `${id}-rx`],
    program: 'scenarios/programs/flow-table-by-port.json',
  });
  const loaded = parseScenario(
    {
      name: 'allocation-scenario-spec',
      seed: 9,
      durationMs: 20_000,
      collect: { intervalMs: 2000, drainMs: 1000, warmupMs: 4000 },
      switch: { utilityWindowMs: 2000, utilityWindowReset: false },
      allocator: { reallocation: 'live', stages: 2, registerCellsPerStage: 1024 },
      tenants: [tenant('spec-small'), tenant('spec-large')],
      workloads: [
        { kind: 'traffic', from: 'spec-small-tx', to: ['spec-small-rx'], ratePps: 50, size: 64, flows: 20, zipf: 1 },
        {
          kind: 'traffic',
          from: 'spec-large-tx',
          to: ['spec-large-rx'],
          ratePps: 400,
          size: 64,
          flows: 1500,
          zipf: 1,
          phases: { onMs: 6000, offMs: 4000 },
        },
      ],
    },
    'allocation-scenario.spec',
    REPO_ROOT,
  );
  return scenarioModel(loaded);
}

describe('scenarioModel', () => {
  it("sends each tenant's rate x on-time frames per window, from its sender, source port 10000 + a flow it has", () => {
    const { traffic } = model();
    assert.equal(traffic.length, 10);
    const ofTenant = (window: number, vm: string): Buffer[] =>
      traffic[window].filter(({ port }) => port.vm === vm).map(({ frame }) => frame);
    // small: 50 frames/s all the time; large: 400 frames/s for 6 s, off for 4 s, on again.
    assert.deepEqual(
      traffic.map((_, w) => ofTenant(w, 'spec-small-tx').length),
      Array.from({ length: 10 }, () => 100),
    );
    assert.deepEqual(
      traffic.map((_, w) => ofTenant(w, 'spec-large-tx').length),
      [800, 800, 800, 0, 0, 800, 800, 800, 0, 0],
    );
    for (const [vm, flows] of [
      ['spec-small-tx', 20],
      ['spec-large-tx', 1500],
    ] as const) {
      const ports = traffic.flatMap((_, w) => ofTenant(w, vm).map((frame) => frame.readUInt16BE(SRC_PORT_OFFSET)));
      assert.ok(
        ports.every((port) => port >= 10_000 && port < 10_000 + flows),
        `${vm} sends from its own flows`,
      );
    }
  });

  it('draws the same traffic for the same seed', () => {
    const flowsOf = (m: ScenarioModel): number[] =>
      m.traffic.flat().map(({ frame }) => frame.readUInt16BE(SRC_PORT_OFFSET));
    assert.deepEqual(flowsOf(model()), flowsOf(model()));
  });
});

describe('runScenarioMode', () => {
  it("counts only windows with traffic after the warm-up, as the lab's satisfaction does", () => {
    const { figures } = runScenarioMode(model(), 'static');
    // Nine windows end within 4-20 s; large sends in five of them (ending at 4, 6, 12, 14 and 16 s).
    assert.equal(figures.tenants['spec-small']?.windows, 9);
    assert.equal(figures.tenants['spec-large']?.windows, 5);
    assert.equal(figures.reports, 14);
  });

  it('keeps the static split and re-links the live mode, which satisfies the large tenant more often', () => {
    const m = model();
    const fixed = runScenarioMode(m, 'static');
    const live = runScenarioMode(m, 'live');
    assert.equal(fixed.relinks, 0);
    assert.ok(fixed.reports.every((report) => report.slots === 496));
    assert.equal(fixed.figures.tenants['spec-large']?.satisfaction, 0);
    assert.ok(live.relinks > 0);
    assert.ok(live.reports.some((report) => report.tenant === 'spec-large' && report.slots > 496));
    assert.ok(live.figures.tenants['spec-large'].satisfaction > 0);
  });

  it('leaves a tenant in an off phase the share it holds when re-linking the others', () => {
    const large = runScenarioMode(model(), 'live').reports.filter((report) => report.tenant === 'spec-large');
    const quiet = large.flatMap((report, i) => (report.packets === 0 && i + 1 < large.length ? [i] : []));
    assert.ok(quiet.length >= 2);
    for (const i of quiet) assert.equal(large[i + 1].slots, large[i].slots, `window ${large[i].window}`);
  });
});
