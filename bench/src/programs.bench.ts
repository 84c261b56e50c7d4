import { type Figures, type Goal, publishReport } from './bench-report';
import type { ReportSection } from './bench-programs';
import { cpuFairness } from './programs-fairness';
import { mergingOverhead } from './programs-merging';
import { middleboxVsInSwitch } from './programs-middlebox';

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
    setup: Object.assign({}, ...sections.map((section) => section.setup)) as Record<string, string | number>,
    metrics: merged((section) => section.metrics),
    baseline: merged((section) => section.baseline),
    ratios: merged((section) => section.ratios),
  });
}
