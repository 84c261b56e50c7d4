import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReallocationDecisionMessage, UtilityReportMessage } from '@tenantlab/shared';
import { utilityFiguresOf } from './utility-loop';

function report(
  tenant: string,
  window: number,
  utility: number,
  more: Partial<UtilityReportMessage> = {},
): UtilityReportMessage {
  return {
    tenant,
    program: 'flow_table',
    window,
    windowEndMs: 1000 + window * 100,
    windowMs: 100,
    slots: 496,
    packets: 100,
    misses: Math.round((1 - utility) * 100),
    utility,
    pipelineVersion: 1,
    installedAtMs: 900,
    ...more,
  };
}

function decision(n: number, decidedAtMs: number, pipelineVersion: number | null): ReallocationDecisionMessage {
  return { decision: n, mode: 'live', window: n, decidedAtMs, capacitySlots: 1000, pipelineVersion, shares: [] };
}

describe("seed 004's loop figures from Kafka", () => {
  it('satisfaction is the share of windows with utility above 0.9, per tenant; mean and 5th percentile over tenants', () => {
    // Tenant a: 3 of 4 windows above 0.9 (0.9 itself is not above); b: 1 of 4; c: 4 of 4.
    const reports = [
      ...[0.95, 0.91, 0.9, 1].map((u, w) => report('a', w + 1, u)),
      ...[0.5, 0.2, 0.93, 0.1].map((u, w) => report('b', w + 1, u)),
      ...[0.99, 0.99, 0.99, 0.99].map((u, w) => report('c', w + 1, u)),
    ];
    const figures = utilityFiguresOf(reports, [], 0, 10_000);
    assert.deepEqual(figures.tenants, {
      a: { windows: 4, satisfaction: 0.75 },
      b: { windows: 4, satisfaction: 0.25 },
      c: { windows: 4, satisfaction: 1 },
    });
    assert.equal(figures.reports, 12);
    assert.equal(figures.satisfactionMean, 0.6667);
    assert.equal(figures.satisfactionP5, 0.25);
  });

  it('counts only windows that closed within the measured window, saw packets, and were read once', () => {
    const reports = [
      report('a', 1, 0.1, { windowEndMs: 500 }), // before the window: warm-up
      report('a', 2, 0.99),
      report('a', 2, 0.99), // read twice (a rebalance)
      report('a', 3, 1, { packets: 0, misses: 0 }), // an off phase: nothing to satisfy
      report('a', 4, 0.1, { windowEndMs: 99_999 }), // after the window
      report('b', 2, 0.5),
    ];
    const figures = utilityFiguresOf(reports, [], 1000, 5000);
    assert.deepEqual(figures.tenants, { a: { windows: 1, satisfaction: 1 }, b: { windows: 1, satisfaction: 0 } });
    assert.equal(figures.reports, 2);
    assert.equal(figures.satisfactionMean, 0.5);
    assert.deepEqual(utilityFiguresOf([], [], 0, 1).satisfactionMean, null);
  });

  it('pairs each re-linking decision with the first report under its pipeline version: decision to installed', () => {
    const reports = [
      report('a', 1, 1, { pipelineVersion: 5, installedAtMs: 2100 }),
      report('b', 1, 1, { pipelineVersion: 5, installedAtMs: 2040 }),
      report('a', 2, 1, { pipelineVersion: 6, installedAtMs: 3300 }),
    ];
    const decisions = [
      decision(1, 2000, 5), // installed 40 ms later (the earliest report of version 5)
      decision(1, 2000, 5), // the same decision read twice
      decision(2, 3000, 6), // 300 ms
      decision(3, 3500, null), // static, or nothing changed: no re-link
      decision(4, 3600, 7), // no report under version 7 yet
      decision(5, 99_000, 8), // outside the window
    ];
    const figures = utilityFiguresOf(reports, decisions, 1000, 5000);
    assert.equal(figures.decisions, 4);
    assert.equal(figures.relinks, 3);
    assert.deepEqual(figures.decisionToInstalledMs, [40, 300]);
    assert.equal(figures.decisionToInstalledP99Ms, 300);
    assert.equal(figures.notSeenInstalled, 1);
  });
});
