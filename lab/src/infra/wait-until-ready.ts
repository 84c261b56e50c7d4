import { type SupervisedProcess, describeExit } from './child-process.supervisor';
import { InfraStartError } from './infra.errors';

export interface ReadinessResult {
  ready: boolean;
  /** What the probe saw, e.g. "PONG" or "connect ECONNREFUSED 127.0.0.1:6379"; shown in status and timeouts. */
  detail: string;
}

/**
 * Asks a component whether it serves requests. Must settle on its own within a couple of seconds; a rejection
 * counts as "not ready yet".
 */
export type ReadinessProbe = () => Promise<ReadinessResult>;

const POLL_INTERVAL_MS = 250;

/**
 * Polls `probe` until it reports ready. Fails as soon as the process exits (with the end of its log, which says
 * why), or when `timeoutMs` passes (with the probe's last answer).
 */
export async function waitUntilReady(
  child: SupervisedProcess,
  label: string,
  probe: ReadinessProbe,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: ReadinessResult = { ready: false, detail: 'not probed yet' };
  for (;;) {
    // Racing against `exited` turns a crash into an immediate failure instead of a wait for the deadline.
    const outcome = await Promise.race([probe().catch(notReady), child.exited]);
    if (child.exitStatus) throw await exitedEarly(child, label);
    last = outcome as ReadinessResult;
    if (last.ready) return;
    if (Date.now() >= deadline) {
      throw new InfraStartError(
        `${label} did not become ready within ${timeoutMs / 1000}s (last check: ${last.detail}). ` +
          `See ${child.logFile}.\n${child.tail()}`,
        { retriable: true },
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const pause = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, POLL_INTERVAL_MS);
    });
    await Promise.race([pause, child.exited]);
    clearTimeout(timer);
  }
}

function notReady(error: unknown): ReadinessResult {
  return { ready: false, detail: error instanceof Error ? error.message : String(error) };
}

async function exitedEarly(child: SupervisedProcess, label: string): Promise<InfraStartError> {
  // `exitStatus` is set on exit; `exited` waits for the rest of the output, which usually holds the reason.
  const status = describeExit(await child.exited);
  return new InfraStartError(`${label} ${status} before it was ready. See ${child.logFile}:\n${child.tail()}`);
}

/** Waits for readiness; if the component never gets there, stops it before rethrowing so nothing is left behind. */
export async function readyOrStopped(
  child: SupervisedProcess,
  label: string,
  probe: ReadinessProbe,
  timeoutMs: number,
): Promise<SupervisedProcess> {
  try {
    await waitUntilReady(child, label, probe, timeoutMs);
    return child;
  } catch (error) {
    await child.stop();
    throw error;
  }
}
