import type { JsonLogger } from '@tenantlab/shared';

export interface PeriodicPassOptions {
  /** The log context of its failures. */
  readonly context: string;
  /** Injectable for tests; the failure log's rate limit reads it. */
  readonly now?: () => number;
}

/** Redis being away fails every pass; once every 10 s says the same. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Runs `pass` every `intervalMs` after the previous one finished (never two at once), until stopped; a failed pass
 * (Redis away) is logged at most every 10 s and the next one runs as usual.
 */
export class PeriodicPass {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastErrorLoggedAt = -Infinity;
  private readonly now: () => number;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly logger: JsonLogger,
    private readonly options: PeriodicPassOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .then(
          () => undefined,
          (error: unknown) => this.logFailure(error),
        )
        .finally(() => {
          this.running = undefined;
          this.start();
        });
    }, this.intervalMs);
  }

  /** Stops scheduling and waits for a running pass to finish (before Redis closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private logFailure(error: unknown): void {
    if (this.now() - this.lastErrorLoggedAt < FAILURE_LOG_INTERVAL_MS) return;
    this.lastErrorLoggedAt = this.now();
    this.logger.record('warn', `${this.name} pass failed: ${error instanceof Error ? error.message : String(error)}`, {
      context: this.options.context,
    });
  }
}
