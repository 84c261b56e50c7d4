import { requestJson } from '@tenantlab/shared';

export interface ReadinessResult {
  ready: boolean;
  detail: string;
}

/** One GET of a service's /ready: ready on 200, otherwise the failing checks it named. */
export async function probeReady(url: string): Promise<ReadinessResult> {
  try {
    const { status, body } = await requestJson<{ checks?: Record<string, { ok: boolean; detail?: string }> }>(
      'GET',
      `${url}/ready`,
      undefined,
      2500,
    );
    const failing = Object.entries(body?.checks ?? {})
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.detail ?? 'not ok'}`);
    return { ready: status === 200, detail: status === 200 ? 'ready' : failing.join('; ') || `HTTP ${status}` };
  } catch (error) {
    return { ready: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Polls /ready until it answers 200 or the deadline passes, then fails with the last reason it gave. `isAlive` lets
 * the caller stop waiting at once when the process has already exited.
 */
export async function waitUntilReady(
  url: string,
  options: { timeoutMs: number; intervalMs?: number; isAlive?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last: ReadinessResult = { ready: false, detail: 'not probed yet' };
  while (Date.now() < deadline) {
    if (options.isAlive && !options.isAlive()) throw new Error(`process exited before it was ready (${last.detail})`);
    last = await probeReady(url);
    if (last.ready) return;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
  throw new Error(`not ready after ${Math.round(options.timeoutMs / 1000)} s: ${last.detail}`);
}
