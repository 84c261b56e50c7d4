import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testAdminHeaders } from '@tenantlab/lab';
import {
  DEFAULT_TENANT_QUOTA,
  type LinkedPipeline,
  type PageTable,
  PORT_KEYS,
  REDIS_KEYS,
  requestJson,
  validateProgram,
  type ValidProgram,
} from '@tenantlab/shared';
import type { ProgramHooks } from '@tenantlab/switch';
import type { Redis } from 'ioredis';
import type { BenchReport } from './bench-report';
import type { RunningSwitch } from './bench-switch';

/** What the programs benchmark's tenant programs share: documents, page tables, linking, the switch's state. */

const REPO_ROOT = join(__dirname, '..', '..');

/** One experiment's part of the `programs` report; the runner merges the parts into one report. */
export type ReportSection = Pick<BenchReport, 'metrics' | 'baseline' | 'ratios' | 'setup' | 'goals'>;

/** Programs whose `mirror` and `report` go nowhere (no Kafka in these measurements). */
export const NO_HOOKS: ProgramHooks = { mirror: () => undefined, report: () => undefined };

/** A program from `programs/`, validated for `tenant` and its VMs under the allocator's default per-tenant quota. */
export function validFor(file: string, tenant: string, vms: readonly string[]): ValidProgram {
  const document: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'programs', file), 'utf8'));
  return validateProgram(document, { tenant, vms, quota: DEFAULT_TENANT_QUOTA });
}

/** Consecutive slices (the allocator's first-fit on empty memory gives the same), from `offset` in stage 0. */
export function consecutivePageTable(valid: ValidProgram, offset: number): { pageTable: PageTable; end: number } {
  const pageTable: Record<string, { stage: number; offset: number; amount: number }> = {};
  let next = offset;
  for (const { name, size, width } of valid.program.registers) {
    const amount = width === 128 ? size * 2 : size;
    pageTable[name] = { stage: 0, offset: next, amount };
    next += amount;
  }
  return { pageTable, end: next };
}

/** `GET /dataplane` of a running switch, typed as far as the caller reads it. */
export async function dataplaneOf<T>(sw: RunningSwitch): Promise<T> {
  return (await requestJson<T>('GET', `${sw.url}/dataplane`, undefined, 2000, testAdminHeaders())).body;
}

/** Waits for `check` to hold, polling every 50 ms, or fails naming `what` after `timeoutMs`. */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Once the switch has handled what `vms` wrote (every tx empty: a commit delivers a frame and deletes its entry in one
 * MULTI), empties their rx streams, so a run starts with nothing of before in flight or unread.
 */
export async function emptyRxOnceHandled(admin: Redis, vms: readonly string[]): Promise<void> {
  await until(`the switch to handle what ${vms.length} VMs sent`, 10_000, async () => {
    const lengths = await Promise.all(vms.map((vm) => admin.xlen(PORT_KEYS.tx(vm))));
    return lengths.every((length) => length === 0);
  });
  await admin.del(...vms.map((vm) => PORT_KEYS.rx(vm)));
}

/**
 * Links `tenants` as pipeline version 1, as the allocator does (the current pipeline, then a versions entry the
 * switch follows), and waits until the switch runs it. `unlinkPipeline` removes it for the next switch.
 */
export async function linkPipeline(admin: Redis, sw: RunningSwitch, tenants: LinkedPipeline['tenants']): Promise<void> {
  const linked: LinkedPipeline = { version: 1, createdAt: new Date().toISOString(), tenants };
  const json = JSON.stringify(linked);
  await admin.set(REDIS_KEYS.pipelineCurrent, json);
  await admin.xadd(REDIS_KEYS.pipelineVersions, '*', 'version', String(linked.version), 'pipeline', json);
  await until('the switch to install pipeline version 1', 10_000, async () => {
    const { programs } = await dataplaneOf<{ programs?: { version: number; lastError?: string } }>(sw);
    if (programs?.lastError) throw new Error(programs.lastError);
    return programs?.version === linked.version;
  });
}

export async function unlinkPipeline(admin: Redis): Promise<void> {
  await admin.del(REDIS_KEYS.pipelineCurrent, REDIS_KEYS.pipelineVersions);
}

export function mean(samples: readonly number[]): number {
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** Three decimals, as the report shows figures. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
