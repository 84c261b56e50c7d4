/** One dependency a service needs before it can do its work (Redis, Kafka, the operator, ...). */
export interface ReadinessCheck {
  readonly name: string;
  /** Resolves with an optional detail when the dependency is usable; rejects with the reason when it is not. */
  check(): Promise<string | void>;
  /**
   * Why the service, though its dependency answers, knows it has not converged yet (issue 10: after Redis restarted
   * empty, until what it held is back in the store); empty when it has. Read only when `check` passed.
   */
  degraded?(): readonly string[];
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export interface ReadinessReport {
  /** `degraded`: every dependency answers, but the service has not converged after a loss (see `reasons`). */
  status: 'ready' | 'not-ready' | 'degraded';
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
  reasons?: string[];
}

/** Runs all checks concurrently; a check that does not settle within the deadline counts as failed. */
export async function runReadinessChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs = 2000,
): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, { ok: boolean; detail?: string }]> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const detail = await Promise.race([
          c.check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [c.name, detail ? { ok: true, detail } : { ok: true }];
      } catch (error) {
        return [c.name, { ok: false, detail: error instanceof Error ? error.message : String(error) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checked = Object.fromEntries(results);
  if (!results.every(([, r]) => r.ok)) return { status: 'not-ready', ready: false, checks: checked };
  const reasons = checks.flatMap((c) => c.degraded?.() ?? []);
  if (reasons.length > 0) return { status: 'degraded', ready: false, checks: checked, reasons };
  return { status: 'ready', ready: true, checks: checked };
}
