import { type Figures, type Goal, publishReport } from './bench-report';
import type { ReportSection } from './bench-programs';
import { cpuFairness } from './programs-fairness';
import { mergingOverhead } from './programs-merging';
import { middleboxVsInSwitch } from './programs-middlebox';

/** Issue 14: what changed against the figures this report published before, so old results are not misread. */
const KEY_CHANGES =
  'renamed where the meaning changed: ten_vs_one_tenant_cost -> ten_vs_one_tenant_total_cost and ' +
  'ten_unshared_code_vs_one_tenant_cost -> ten_unshared_code_vs_one_tenant_total_cost (the goal moved to ' +
  'ten_vs_one_tenant_program_cost, base pipeline excluded); greedy_min_fair_share -> ' +
  'fair_light_min_vs_max_min_share, jain_index -> fair_jain_index (all 4 tenants), greedy_achieved_vs_fair -> ' +
  'fair_greedy_vs_max_min_share (all now on a real switch where every tenant contends, against max-min fair ' +
  'shares of CPU-ns); dropped: greedy_implied_program_ns_per_frame (the cost is measured now), fair_rounds_late_pct ' +
  '(no in-process rounds; see fair_offered_vs_planned_min); same names, now measured on the real switch: ' +
  'fair_heavy/light_program_ns_per_frame (ns charged per frame), greedy_offered/processed_pps, ' +
  'fair_light_offered_pps, fair_light_processed_pps_min, greedy_share_of_budget, light_share_of_budget_mean, ' +
  'fair_light_equal_share_pps; merge_* ns/packet are CPU time now, not wall time';

/**
 * Tenant programs on the switch (seeds 000, 002), three experiments in one report: (a) the cost of running 10
 * tenants' program instances vs one program for the same traffic (Click merging, ~10% in seed 002); (b) a stateful
 * firewall run in the switch vs the same firewall in a middlebox VM the traffic detours through (Oko, seed 000: about
 * half the cost); (c) CPU fairness between contending tenant programs on the real switch, one of them greedy (token
 * buckets, seeds 000 and 002).
 */
export async function runProgramsBenchmark(): Promise<void> {
  console.log('==> (a) merging: 1 tenant program vs 10 tenant programs, same traffic, in-process');
  const merging = mergingOverhead();
  const middlebox = await middleboxVsInSwitch();
  const fairness = await cpuFairness();
  const sections = [merging, middlebox, fairness];
  const merged = (pick: (section: ReportSection) => Figures): Figures =>
    Object.assign({}, ...sections.map(pick)) as Figures;
  await publishReport({
    name: 'programs',
    goals: Object.assign({}, ...sections.map((section) => section.goals ?? {})) as Record<string, Goal>,
    setup: Object.assign({ key_changes: KEY_CHANGES }, ...sections.map((section) => section.setup)) as Record<
      string,
      string | number
    >,
    metrics: merged((section) => section.metrics),
    baseline: merged((section) => section.baseline),
    ratios: merged((section) => section.ratios),
  });
}
