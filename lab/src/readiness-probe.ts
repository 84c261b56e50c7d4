import { requestJson } from '@tenantlab/shared';
import type { ReadinessResult } from './infra/wait-until-ready';

/**
 * One GET of a service's /ready: ready on 200, otherwise the failing checks it named, or, when every check passed
 * but the service has not converged (status `degraded`, after Redis restarted empty), the reasons it gave.
 */
export async function probeReady(url: string): Promise<ReadinessResult> {
  try {
    const { status, body } = await requestJson<{
      checks?: Record<string, { ok: boolean; detail?: string }>;
      reasons?: unknown;
    }>('GET', `${url}/ready`, undefined, 2500);
    const failing = Object.entries(body?.checks ?? {})
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.detail ?? 'not ok'}`);
    const reasons = Array.isArray(body?.reasons) ? body.reasons.filter((r) => typeof r === 'string') : [];
    const why = [...failing, ...reasons].join('; ');
    return { ready: status === 200, detail: status === 200 ? 'ready' : why || `HTTP ${status}` };
  } catch (error) {
    return { ready: false, detail: error instanceof Error ? error.message : String(error) };
  }
}
