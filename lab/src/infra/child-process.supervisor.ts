import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import readline from 'node:readline';
import type { Readable } from 'node:stream';

import { InfraStartError } from './infra.errors';

export type InfraComponent = 'redis' | 'kafka' | 'jaeger';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SuperviseOptions {
  /** Names the process in error messages: an `InfraComponent`, or a service name when the lab runner uses this. */
  component: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Truncated at start, so it holds this run only; unless `appendLog`, as for a restart, which keeps the crash. */
  logFile: string;
  appendLog?: boolean;
  onLine?: (line: string) => void;
}

/** On SIGTERM Kafka flushes and closes its logs and metadata log, which can take several seconds on a slow disk. */
export const DEFAULT_STOP_TIMEOUT_MS = 20_000;

const TAIL_LINES = 40;

// Children still running. If the lab process exits without stopping them (an uncaught exception, process.exit),
// they are killed rather than left holding their ports.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killRunningChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * One long-running child (an infrastructure component, or a lab service), run in the foreground as a direct child
 * with no shell in between, so signals reach it. Its output is written line by line to a log file and to a
 * callback, and the last lines are kept for error messages.
 */
export class SupervisedProcess {
  readonly component: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves once the process has exited and its output is fully read; never rejects. */
  readonly exited: Promise<ExitStatus>;

  private readonly child: ChildProcess;
  private readonly lastLines: string[] = [];
  private status: ExitStatus | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(child: ChildProcess, pid: number, logFd: number, options: SuperviseOptions) {
    this.child = child;
    this.pid = pid;
    this.component = options.component;
    this.logFile = options.logFile;

    const log = createWriteStream('', { fd: logFd });
    // A full disk must not crash the lab; the note lands in the tail, which error messages show.
    log.on('error', (error) => this.lastLines.push(`(could not write ${options.logFile}: ${error.message})`));
    const onLine = (line: string): void => {
      log.write(`${line}\n`);
      this.lastLines.push(line);
      if (this.lastLines.length > TAIL_LINES) this.lastLines.shift();
      options.onLine?.(line);
    };
    for (const stream of [child.stdout, child.stderr] as Readable[]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
    }

    child.once('exit', (code, signal) => {
      this.status = { code, signal };
      running.delete(child);
    });
    // 'close' comes after 'exit' once stdout and stderr are drained, and the log is flushed before `exited`
    // resolves, so both the tail and the file are complete by then.
    this.exited = new Promise((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        log.end(() => resolve(this.status ?? { code, signal }));
      });
    });
  }

  /** Spawns the process; rejects if it cannot be started at all (missing binary, bad working directory). */
  static start(options: SuperviseOptions): Promise<SupervisedProcess> {
    return new Promise((resolve, reject) => {
      // Opened before spawning so that an unwritable data dir fails the start instead of a running process.
      let logFd: number;
      try {
        logFd = openSync(options.logFile, options.appendLog ? 'a' : 'w');
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        reject(new InfraStartError(`Could not create ${options.component}'s log file: ${reason}`, { cause: error }));
        return;
      }
      const child = spawn(options.command, options.args, {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: Ctrl-C in the terminal reaches only the lab runner, which stops the children in
        // order (VMs before the operator, services before Kafka) instead of all at once.
        detached: true,
      });
      let spawned = false;
      child.on('error', (error) => {
        // After a successful spawn, 'error' only reports a failed kill(); the exit handling covers the rest.
        if (spawned) return;
        closeSync(logFd);
        reject(new InfraStartError(`Could not start ${options.component} (${options.command}): ${error.message}`));
      });
      child.once('spawn', () => {
        spawned = true;
        if (!exitHookInstalled) {
          process.once('exit', killRunningChildren);
          exitHookInstalled = true;
        }
        running.add(child);
        resolve(new SupervisedProcess(child, child.pid as number, logFd, options));
      });
    });
  }

  /** Set once the process has exited. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** The last lines the process printed, for error messages. */
  tail(): string {
    return this.lastLines.join('\n');
  }

  /**
   * SIGTERM, then SIGKILL if the process is still there after `timeoutMs`. Resolves once it has exited.
   * Safe to call more than once and after the process has exited by itself.
   */
  stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    this.stopping ??= this.terminate(timeoutMs);
    return this.stopping;
  }

  private async terminate(timeoutMs: number): Promise<void> {
    if (this.status) {
      await this.exited;
      return;
    }
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** "exited with code 1", "was killed by SIGKILL": for error messages. */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
}
