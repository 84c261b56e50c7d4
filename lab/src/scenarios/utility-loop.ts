import {
  createKafkaClient,
  ensureTopics,
  JsonLogger,
  nearestRank,
  type KafkaCredentials,
  parseReallocationDecision,
  parseUtilityReport,
  SATISFIED_UTILITY,
  type ReallocationDecisionMessage,
  TOPICS,
  type UtilityReportMessage,
} from '@tenantlab/shared';
import type { Consumer } from 'kafkajs';

/** Seed 004's loop over a run's window, from `allocator.utility-reports` and `allocator.decisions`. */
export interface UtilityFigures {
  /** Reports counted: windows that closed within the measured window, in which the tenant's program saw packets. */
  reports: number;
  /** Per tenant: its counted windows and the share of them with utility > 0.9. */
  tenants: Record<string, { windows: number; satisfaction: number }>;
  /** Mean and 5th percentile (nearest rank) of the tenants' satisfaction; null without a counted window. */
  satisfactionMean: number | null;
  satisfactionP5: number | null;
  /** Decisions taken in the measured window, and those that re-linked the pipeline (a pipeline version). */
  decisions: number;
  relinks: number;
  /**
   * Per re-link, the decision's `decidedAtMs` to the `installedAtMs` the switch's first report under that pipeline
   * version gives (ms); re-links no report showed installed are counted in `notSeenInstalled`.
   */
  decisionToInstalledMs: number[];
  decisionToInstalledP99Ms: number | null;
  notSeenInstalled: number;
}

const round = (value: number | null, digits = 4): number | null =>
  value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The loop's figures over `[fromMs, toMs]` (epoch ms): satisfaction counts the reports of windows that closed then
 * and saw packets (a tenant in an off phase has nothing to satisfy); decision-to-installed pairs each re-linking
 * decision taken then with the earliest `installedAtMs` of a report under its pipeline version (from any time).
 */
export function utilityFiguresOf(
  reports: readonly UtilityReportMessage[],
  decisions: readonly ReallocationDecisionMessage[],
  fromMs: number,
  toMs: number,
): UtilityFigures {
  const within = (ms: number): boolean => ms >= fromMs && ms <= toMs;
  const perTenant = new Map<string, { windows: number; satisfied: number }>();
  let counted = 0;
  const seen = new Set<string>();
  for (const report of reports) {
    if (!within(report.windowEndMs) || report.packets === 0) continue;
    // A report read twice (a consumer rebalance) counts once.
    const key = `${report.tenant}/${report.window}/${report.windowEndMs}`;
    if (seen.has(key)) continue;
    seen.add(key);
    counted += 1;
    const stats = perTenant.get(report.tenant) ?? { windows: 0, satisfied: 0 };
    stats.windows += 1;
    if (report.utility > SATISFIED_UTILITY) stats.satisfied += 1;
    perTenant.set(report.tenant, stats);
  }
  const tenants = Object.fromEntries(
    [...perTenant].map(([tenant, s]) => [
      tenant,
      { windows: s.windows, satisfaction: round(s.satisfied / s.windows)! },
    ]),
  );
  const satisfaction = [...perTenant.values()].map((s) => s.satisfied / s.windows);
  const installedAt = new Map<number, number>();
  for (const report of reports) {
    const known = installedAt.get(report.pipelineVersion);
    if (known === undefined || report.installedAtMs < known)
      installedAt.set(report.pipelineVersion, report.installedAtMs);
  }
  const taken = decisions.filter((d) => within(d.decidedAtMs));
  const relinking = [...new Map(taken.filter((d) => d.pipelineVersion !== null).map((d) => [d.decision, d])).values()];
  const latencies: number[] = [];
  let notSeenInstalled = 0;
  for (const decision of relinking) {
    const installed = installedAt.get(decision.pipelineVersion!);
    if (installed === undefined) notSeenInstalled += 1;
    else latencies.push(Math.max(0, installed - decision.decidedAtMs));
  }
  return {
    reports: counted,
    tenants,
    satisfactionMean: round(satisfaction.length ? satisfaction.reduce((a, b) => a + b, 0) / satisfaction.length : null),
    satisfactionP5: round(nearestRank(satisfaction, 0.05)),
    decisions: new Set(taken.map((d) => d.decision)).size,
    relinks: relinking.length,
    decisionToInstalledMs: latencies,
    decisionToInstalledP99Ms: nearestRank(latencies, 0.99),
    notSeenInstalled,
  };
}

/**
 * Reads the lab's `allocator.utility-reports` and `allocator.decisions` from the beginning, for the run's figures:
 * a consumer of its own group, as the lab's Kafka admin user.
 */
export class UtilityLoopCollector {
  readonly reports: UtilityReportMessage[] = [];
  readonly decisions: ReallocationDecisionMessage[] = [];
  /** Messages neither codec took (should stay 0). */
  refused = 0;
  private consumer: Consumer | undefined;

  constructor(
    private readonly brokers: string,
    private readonly credentials: KafkaCredentials | undefined,
    private readonly groupId: string,
  ) {}

  async start(): Promise<void> {
    const kafka = createKafkaClient(
      'lab-scenario',
      [this.brokers],
      new JsonLogger('lab-scenario', 'error'),
      this.credentials,
    );
    await ensureTopics(kafka, [TOPICS.utilityReports, TOPICS.reallocationDecisions]);
    const consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 200 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.utilityReports, TOPICS.reallocationDecisions], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        if (topic === TOPICS.utilityReports) {
          const parsed = parseUtilityReport(message.value);
          if (parsed.ok) this.reports.push(parsed.value);
          else this.refused += 1;
        } else {
          const parsed = parseReallocationDecision(message.value);
          if (parsed.ok) this.decisions.push(parsed.value);
          else this.refused += 1;
        }
        return Promise.resolve();
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }
}
