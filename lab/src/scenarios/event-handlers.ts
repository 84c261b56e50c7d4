import { requestJson } from '@tenantlab/shared';
import type { ScenarioEvent } from './scenario';
import { expectOk, putProgram, type ScenarioContext, urlOf, wait } from './scenario-context';

/** How long a kill may take to come back before the event fails. */
const RESTART_TIMEOUT_MS = 60_000;

type EventOf<K extends ScenarioEvent['kind']> = Extract<ScenarioEvent, { kind: K }>;
/** Applies one event and resolves with what happened (the report's "result"), or throws saying why it failed. */
export type EventHandler<K extends ScenarioEvent['kind']> = (
  event: EventOf<K>,
  context: ScenarioContext,
) => Promise<string>;

/**
 * The timeline's event kinds. A new kind is a schema entry (scenario-schema.ts), a type (scenario.ts) and a handler
 * here; the runner looks handlers up by kind and knows none of them.
 */
export const EVENT_HANDLERS: { [K in ScenarioEvent['kind']]: EventHandler<K> } = {
  async kill(event, context) {
    // The last counts of what is about to die, so the run loses as little of them as it can.
    if (event.target === 'switch') await context.collector.sampleNow();
    return context.control.kill(event.target, RESTART_TIMEOUT_MS);
  },
  async pause(event, context) {
    const paused = await context.control.pause(event.target);
    await wait(event.forMs);
    const resumed = await context.control.resume(event.target);
    return `${paused}; ${resumed} after ${event.forMs} ms`;
  },
  async 'restart-empty'(event, context) {
    const restarted = await context.control.kill(event.target, RESTART_TIMEOUT_MS);
    return `${restarted} (empty: Redis keeps nothing on disk in the lab)`;
  },
  async impair(event, context) {
    const { vm, forMs, kind: _kind, atMs: _at, label: _label, ...impairment } = event;
    const route = `${urlOf(context, 'operator')}/vms/${vm}/impairment`;
    await expectOk(
      `operator PUT /vms/${vm}/impairment`,
      requestJson('PUT', route, impairment, 10_000, context.operatorAdminHeaders),
    );
    if (forMs === undefined) return `impaired: ${JSON.stringify(impairment)}`;
    await wait(forMs);
    await expectOk(
      `operator DELETE /vms/${vm}/impairment`,
      requestJson('DELETE', route, undefined, 10_000, context.operatorAdminHeaders),
    );
    return `impaired ${JSON.stringify(impairment)} for ${forMs} ms, then cleared`;
  },
  async 'clear-impairment'(event, context) {
    await expectOk(
      `operator DELETE /vms/${event.vm}/impairment`,
      requestJson(
        'DELETE',
        `${urlOf(context, 'operator')}/vms/${event.vm}/impairment`,
        undefined,
        10_000,
        context.operatorAdminHeaders,
      ),
    );
    return 'cleared';
  },
  program(event, context) {
    return putProgram(context, event.tenant, event.program);
  },
  async 'cpu-weight'(event, context) {
    const answer = await expectOk<{ weight: number }>(
      `switch PUT /tenants/${event.tenant}/cpu-weight`,
      requestJson(
        'PUT',
        `${urlOf(context, 'switch')}/tenants/${event.tenant}/cpu-weight`,
        { weight: event.weight },
        10_000,
        context.serviceHeaders,
      ),
    );
    return `weight ${answer.weight}`;
  },
  async sampling(event, context) {
    const answer = await expectOk<{ rate: number }>(
      `switch PUT /tenants/${event.tenant}/sampling`,
      requestJson(
        'PUT',
        `${urlOf(context, 'switch')}/tenants/${event.tenant}/sampling`,
        { rate: event.rate },
        10_000,
        context.serviceHeaders,
      ),
    );
    return `sampling ${answer.rate}`;
  },
};

export function applyEvent(event: ScenarioEvent, context: ScenarioContext): Promise<string> {
  const handler = EVENT_HANDLERS[event.kind] as EventHandler<typeof event.kind>;
  return handler(event, context);
}
