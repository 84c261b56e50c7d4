import { type JsonResponse, type PcapCapture, requestJson } from '@tenantlab/shared';
import type { LabState } from '../lab-state';
import type { CounterCollector } from './collector';
import type { LabControl } from './lab-control';
import type { ProgramSource, Scenario } from './scenario';

/** What event handlers and workload drivers reach the running lab with. */
export interface ScenarioContext {
  scenario: Scenario;
  state: LabState;
  control: LabControl;
  collector: CounterCollector;
  /** Program documents named by path in the file. */
  programs: Map<string, Record<string, unknown>>;
  /** Replay workloads' captures, by the path the file names them with. */
  pcaps: Map<string, PcapCapture>;
  /** Headers for the switch, allocator and telemetry (the lab's admin service token). */
  serviceHeaders: Record<string, string>;
  /** Headers for the operator's admin API (the lab's operator admin token). */
  operatorAdminHeaders: Record<string, string>;
  /** ms since the timeline started. */
  now(): number;
  /** Aborted when the run ends: workloads stop, waits end. */
  signal: AbortSignal;
}

export function urlOf(context: Pick<ScenarioContext, 'state'>, component: string): string {
  const entry = context.state.components.find((c) => c.name === component);
  if (!entry) throw new Error(`the lab has no component ${component}`);
  return entry.url;
}

export function programOf(context: Pick<ScenarioContext, 'programs'>, source: ProgramSource): Record<string, unknown> {
  if (typeof source !== 'string') return source;
  const document = context.programs.get(source);
  if (!document) throw new Error(`program ${source} was not loaded`);
  return document;
}

/** A call that must succeed: otherwise an error naming what answered and what it said (its error envelope). */
export async function expectOk<T>(what: string, call: Promise<JsonResponse<T>>): Promise<T> {
  const { status, body } = await call;
  if (status >= 200 && status < 300) return body;
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const said = error ? `${error.code ?? ''}: ${error.message ?? ''}` : JSON.stringify(body).slice(0, 300);
  throw new Error(`${what} answered ${status} ${said}`);
}

/** The first VM of a tenant, through which its program is submitted (the operator takes programs from VM tokens). */
export function tenantVm(context: Pick<ScenarioContext, 'scenario' | 'state'>, tenant: string): string {
  const vm = context.scenario.tenants.find((t) => t.id === tenant)?.vms[0];
  if (!vm) throw new Error(`tenant ${tenant} has no VM`);
  return urlOf(context, vm);
}

export async function putProgram(context: ScenarioContext, tenant: string, source: ProgramSource): Promise<string> {
  const answer = await expectOk<{ version?: number }>(
    `PUT /program of ${tenant}`,
    requestJson('PUT', `${tenantVm(context, tenant)}/program`, { program: programOf(context, source) }, 30_000),
  );
  return `program ${typeof source === 'string' ? source : 'inline'} installed (version ${answer.version ?? '?'})`;
}

/** Waits `ms`, or less if the run ends first. */
export function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal?.aborted) return done();
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
    function finish(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
  });
}
