import { requestJson } from '@tenantlab/shared';
import type { ReadinessResult } from './infra/wait-until-ready';

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
