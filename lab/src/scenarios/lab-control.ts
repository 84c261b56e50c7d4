import { docker } from '../docker/docker-engine';
import { listContainers } from '../docker/docker-lab';
import type { LabState } from '../lab-state';
import { probeReady } from '../readiness-probe';

/** What the timeline's faults do to a running lab, the same in both modes. Each resolves with a line for the report. */
export interface LabControl {
  /** Kills the component and resolves once the lab has started it again (and it answers ready, where it can say). */
  kill(component: string, timeoutMs: number): Promise<string>;
  /** Freezes the component; `resume` thaws it. */
  pause(component: string): Promise<string>;
  resume(component: string): Promise<string>;
}

const POLL_MS = 200;

/** Local mode: signals to the component's process; the lab runner's supervisor starts a killed one again. */
export class LocalLabControl implements LabControl {
  constructor(private readonly state: LabState) {}

  async kill(component: string, timeoutMs: number): Promise<string> {
    const entry = this.entry(component);
    const pid = entry.pid;
    const started = Date.now();
    process.kill(pid, 'SIGKILL');
    // The runner's restart hooks write the new pid into this same state object.
    await until(`${component} started again`, timeoutMs, async () => {
      if (entry.pid === pid) return false;
      return entry.kind === 'infra' || (await probeReady(entry.url)).ready;
    });
    return `killed pid ${pid}; pid ${entry.pid} ready after ${seconds(started)}`;
  }

  pause(component: string): Promise<string> {
    const { pid } = this.entry(component);
    process.kill(pid, 'SIGSTOP');
    return Promise.resolve(`SIGSTOP to pid ${pid}`);
  }

  resume(component: string): Promise<string> {
    const { pid } = this.entry(component);
    process.kill(pid, 'SIGCONT');
    return Promise.resolve(`SIGCONT to pid ${pid}`);
  }

  private entry(component: string): LabState['components'][number] {
    const entry = this.state.components.find((c) => c.name === component);
    if (!entry || !entry.pid) throw new Error(`the lab has no running component ${component}`);
    return entry;
  }
}

/** Docker mode: the engine's kill, start, pause and unpause on the component's container. */
export class DockerLabControl implements LabControl {
  constructor(private readonly profile: string) {}

  async kill(component: string, timeoutMs: number): Promise<string> {
    const id = await this.containerId(component);
    const started = Date.now();
    await docker(['kill', id], `kill ${component}`);
    // A killed container may count as stopped by hand, which its restart policy leaves alone: start it here. If the
    // engine is restarting it already, `start` can refuse; the wait below says whether it came back.
    const start = await docker(['start', id], `start ${component} again`).then(
      () => '',
      (error: unknown) => ` (docker start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
    await until(`${component} healthy again`, timeoutMs, async () => {
      const container = (await listContainers(this.profile)).get(component);
      return container?.running === true && (container.health === 'healthy' || container.health === 'none');
    });
    return `docker kill + start${start}; healthy after ${seconds(started)}`;
  }

  async pause(component: string): Promise<string> {
    const id = await this.containerId(component);
    const tries = await freezeWithRetries(() => docker(['pause', id], `pause ${component}`).then(() => undefined));
    return tries === 1 ? 'docker pause' : `docker pause (frozen at try ${tries})`;
  }

  async resume(component: string): Promise<string> {
    await docker(['unpause', await this.containerId(component)], `unpause ${component}`);
    return 'docker unpause';
  }

  private async containerId(component: string): Promise<string> {
    const container = (await listContainers(this.profile)).get(component);
    if (!container) throw new Error(`the lab has no container for ${component}`);
    return container.id;
  }
}

/** How many times a pause is tried when the kernel did not freeze every task in time. */
export const FREEZE_TRIES = 3;

/**
 * Runs `freeze` (a `docker pause`) until it succeeds, at most FREEZE_TRIES times, and returns the try that did. runc
 * freezes a container through its cgroup and gives up when its tasks are not all frozen within its own bound ("unable
 * to freeze"), leaving the container running: on a busy 2-core machine a broker's hundred threads sometimes take
 * longer. Any other refusal is thrown at once.
 */
export async function freezeWithRetries(freeze: () => Promise<void>, tries = FREEZE_TRIES): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await freeze();
      return attempt;
    } catch (error) {
      if (attempt >= tries || !/unable to freeze/i.test(error instanceof Error ? error.message : String(error))) {
        throw error;
      }
    }
  }
}

/** Polls `probe` until it says true or the deadline passes (then throws naming `what`). */
export async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`not ${what} within ${timeoutMs / 1000} s${why}`);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
