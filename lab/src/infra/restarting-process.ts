import { describeExit, type SupervisedProcess } from './child-process.supervisor';
import { RestartBackoff } from './restart-backoff';

export interface RestartHooks {
  /** The process exited by itself; it starts again after `delayMs`. */
  onCrash?(component: string, exit: string, delayMs: number): void;
  /** A new process runs (and is ready, when `start` waits for that). */
  onRestarted?(component: string, pid: number, restarts: number): void;
  /** It crashed too often in a row; it stays down. */
  onGaveUp?(component: string, reason: string): void;
}

/**
 * Keeps one component running: when its process exits without being asked to, starts it again through `start`
 * (which resolves once the new process is ready, or rejects, which counts as another crash), waiting as
 * `RestartBackoff` says. The rest of the lab goes on meanwhile; only `stop` ends the cycle.
 */
export class RestartingProcess {
  private current: SupervisedProcess;
  private startedAt = Date.now();
  private stopped = false;
  private restartCount = 0;
  private wake: (() => void) | undefined;
  private readonly watching: Promise<void>;

  constructor(
    readonly component: string,
    first: SupervisedProcess,
    private readonly start: () => Promise<SupervisedProcess>,
    private readonly hooks: RestartHooks = {},
    private readonly backoff = new RestartBackoff(),
  ) {
    this.current = first;
    this.watching = this.watch();
  }

  get pid(): number {
    return this.current.pid;
  }

  get restarts(): number {
    return this.restartCount;
  }

  /** Stops the process and any restart under way; resolves once nothing of it runs. Idempotent. */
  async stop(timeoutMs?: number): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.current.stop(timeoutMs);
    await this.watching;
    // A start that was under way when stop came has finished by now; its process must not stay.
    await this.current.stop(timeoutMs);
  }

  private async watch(): Promise<void> {
    let exit = describeExit(await this.current.exited);
    while (!this.stopped) {
      const delayMs = this.backoff.afterCrash(Date.now() - this.startedAt);
      if (delayMs === undefined) {
        this.hooks.onGaveUp?.(this.component, `${exit}; it crashed too often in a row, so it stays down`);
        return;
      }
      this.hooks.onCrash?.(this.component, exit, delayMs);
      await this.pause(delayMs);
      if (this.stopped) return;
      this.startedAt = Date.now();
      try {
        this.current = await this.start();
      } catch (error) {
        exit = `failed to start again: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
        continue;
      }
      if (this.stopped) return;
      this.restartCount++;
      this.hooks.onRestarted?.(this.component, this.current.pid, this.restartCount);
      exit = describeExit(await this.current.exited);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
