export interface RestartBackoffOptions {
  /** The wait before the first restart after a crash; each quick crash in a row doubles it. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A run at least this long was healthy: its crash starts the count of quick crashes afresh. */
  stableAfterMs: number;
  /** Quick crashes in a row after which the component is left down: it cannot run, restarting only burns CPU. */
  maxQuickCrashes: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoffOptions = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  stableAfterMs: 30_000,
  maxQuickCrashes: 5,
};

/**
 * When to restart a crashed component: at once-ish after a crash that ended a long healthy run, then ever later
 * while it keeps crashing soon after each start, and never again after `maxQuickCrashes` of those in a row.
 */
export class RestartBackoff {
  private quickCrashes = 0;

  constructor(private readonly options: RestartBackoffOptions = DEFAULT_RESTART_BACKOFF) {}

  /** The delay before the next start of a process that crashed after running `ranForMs`; undefined to give up. */
  afterCrash(ranForMs: number): number | undefined {
    if (ranForMs >= this.options.stableAfterMs) this.quickCrashes = 0;
    this.quickCrashes++;
    if (this.quickCrashes > this.options.maxQuickCrashes) return undefined;
    return Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** (this.quickCrashes - 1));
  }
}
