import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReallocationDecision, type ReallocationDecisionMessage } from './reallocation-decision.message';
import { hitRatio, parseUtilityReport, type UtilityReportMessage } from './utility-report.message';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

const report: UtilityReportMessage = {
  tenant: 'tenant-a',
  program: 'flow_table',
  window: 7,
  windowEndMs: 1_790_000_000_000,
  windowMs: 2000,
  slots: 496,
  packets: 1200,
  misses: 180,
  utility: 0.85,
  pipelineVersion: 3,
  installedAtMs: 1_789_999_999_000,
};

const decision: ReallocationDecisionMessage = {
  decision: 2,
  mode: 'live',
  window: 7,
  decidedAtMs: 1_790_000_000_050,
  capacitySlots: 992,
  pipelineVersion: 4,
  shares: [
    { tenant: 'tenant-a', utility: 0.85, slotsBefore: 496, slotsAfter: 700 },
    { tenant: 'tenant-b', utility: 1, slotsBefore: 496, slotsAfter: 292 },
  ],
};

describe('utility report codec', () => {
  it('takes what the switch publishes, as it was written', () => {
    assert.deepEqual(parseUtilityReport(json(report)), { ok: true, value: report });
  });

  it('names the first thing wrong with anything else', () => {
    const refused = (value: unknown): string => {
      const parsed = parseUtilityReport(json(value));
      assert.equal(parsed.ok, false, JSON.stringify(value));
      return parsed.ok ? '' : parsed.reason;
    };
    assert.match(refused({ ...report, tenant: 'Tenant A' }), /^tenant:/);
    assert.match(refused({ ...report, program: 'Flow-Table' }), /^program:/);
    assert.match(refused({ ...report, window: -1 }), /^window:/);
    assert.match(refused({ ...report, packets: 1.5 }), /^packets:/);
    assert.match(refused({ ...report, slots: 0 }), /^slots:/);
    assert.match(refused({ ...report, pipelineVersion: 0 }), /^pipelineVersion:/);
    assert.match(refused({ ...report, misses: 1201 }), /^misses: expected at most packets/);
    assert.match(refused({ ...report, utility: 1.01 }), /^utility:/);
    assert.match(refused({ ...report, utility: 'high' }), /^utility:/);
    assert.match(refused([report]), /not a JSON object/);
    const garbage = parseUtilityReport(Buffer.from('\u0000\u0001 not json'));
    assert.deepEqual(garbage, { ok: false, reason: 'message is not valid JSON' });
    assert.deepEqual(parseUtilityReport(null), { ok: false, reason: 'message has no value (tombstone)' });
    assert.match(refused({ ...report, padding: 'x'.repeat(5000) }), /more than the 4096 allowed/);
  });

  it('measures utility as the hit ratio, 1 when the window had no packets', () => {
    assert.equal(hitRatio(1200, 180), 0.85);
    assert.equal(hitRatio(0, 0), 1);
    assert.equal(hitRatio(10, 10), 0);
  });
});

describe('reallocation decision codec', () => {
  it('takes what the allocator publishes, a decision without a re-link too', () => {
    assert.deepEqual(parseReallocationDecision(json(decision)), { ok: true, value: decision });
    const still = { ...decision, mode: 'static', pipelineVersion: null };
    assert.deepEqual(parseReallocationDecision(json(still)), { ok: true, value: still });
  });

  it('names the first thing wrong with anything else', () => {
    const refused = (value: unknown): string => {
      const parsed = parseReallocationDecision(json(value));
      assert.equal(parsed.ok, false, JSON.stringify(value));
      return parsed.ok ? '' : parsed.reason;
    };
    assert.match(refused({ ...decision, mode: 'dynamic' }), /^mode:/);
    assert.match(refused({ ...decision, pipelineVersion: 0 }), /^pipelineVersion:/);
    assert.match(refused({ ...decision, decidedAtMs: '2026' }), /^decidedAtMs:/);
    assert.match(refused({ ...decision, shares: {} }), /^shares:/);
    assert.match(
      refused({ ...decision, shares: [{ ...decision.shares[0], slotsAfter: 0 }] }),
      /^shares\[0\]\.slotsAfter/,
    );
    assert.match(refused({ ...decision, shares: [decision.shares[0], 'x'] }), /^shares\[1\]: expected an object/);
    assert.match(refused({ ...decision, shares: [{ ...decision.shares[1], utility: -0.1 }] }), /^shares\[0\]\.utility/);
    assert.match(refused({ ...decision, shares: [{ ...decision.shares[1], tenant: '' }] }), /^shares\[0\]\.tenant/);
  });
});
