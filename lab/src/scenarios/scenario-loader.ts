import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type PcapCapture, readPcap, ValidationError } from '@tenantlab/shared';
import { parseLabDefinition } from '../lab-definition';
import { validateJson } from './json-schema';
import {
  type ComparisonFigure,
  DEFAULT_DURATION_MS,
  type MsRange,
  type ProgramSource,
  type Scenario,
  type ScenarioMetric,
} from './scenario';
import { SCENARIO_SCHEMA } from './scenario-schema';
import { resolveVariant } from './scenario-variants';

/** Components a timeline may kill or pause, besides the lab's VMs. */
export const LAB_COMPONENTS = ['redis', 'kafka', 'jaeger', 'operator', 'switch', 'allocator', 'telemetry'];

export interface LoadedScenario {
  scenario: Scenario;
  /** Program documents by the path the file names them with (inline ones are not here). */
  programs: Map<string, Record<string, unknown>>;
  /** Replay workloads' captures, read and checked once, by the path the file names them with. */
  pcaps: Map<string, PcapCapture>;
}

/** What the checks read from other files: program documents and pcaps (relative to the scenario file's folder). */
interface LoadedFiles {
  programs: Map<string, Record<string, unknown>>;
  pcaps: Map<string, PcapCapture>;
  scenarioDir: string;
}

/** Reads and checks a scenario file: the schema first, then what it cannot say; every problem at once, with its path. */
export function loadScenario(path: string, repoRoot: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read scenario file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`scenario file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseScenario(json, path, repoRoot);
}

export function parseScenario(json: unknown, source: string, repoRoot: string): LoadedScenario {
  const problems = validateJson(SCENARIO_SCHEMA, json);
  if (problems.length > 0) throw invalid(source, problems);
  const scenario = json as Scenario;
  try {
    parseLabDefinition({ name: scenario.name, tenants: scenario.tenants }, source);
  } catch (error) {
    if (error instanceof ValidationError) problems.push(...error.details);
    else throw error;
  }
  const files: LoadedFiles = { programs: new Map(), pcaps: new Map(), scenarioDir: dirname(resolve(source)) };
  problems.push(...crossCheck(scenario, repoRoot, files), ...checkVariants(scenario, repoRoot, files));
  if (problems.length > 0) throw invalid(source, problems);
  return { scenario, programs: files.programs, pcaps: files.pcaps };
}

/**
 * Each variant is checked as the whole scenario it makes (its problems named `variants[i] (name): <path>: ...`), and
 * each comparison must name two variants, and VMs and tenants that both of them run.
 */
function checkVariants(scenario: Scenario, repoRoot: string, files: LoadedFiles): string[] {
  const problems: string[] = [];
  const variants = scenario.variants ?? [];
  const resolved = new Map<string, Scenario>();
  variants.forEach((variant, i) => {
    const path = `variants[${i}]`;
    if (resolved.has(variant.name)) problems.push(`${path}.name: a second variant called ${variant.name}`);
    const tenants = new Set((variant.tenants ?? scenario.tenants).map((t) => t.id));
    variant.withoutTenants?.forEach((id, j) => {
      if (!tenants.has(id)) problems.push(`${path}.withoutTenants[${j}]: no tenant ${id} in tenants[]`);
    });
    const run = resolveVariant(scenario, variant);
    resolved.set(variant.name, run);
    if (run.tenants.length === 0) return problems.push(`${path}.withoutTenants: leaves no tenant`);
    const prefix = (problem: string): string => `${path} (${variant.name}): ${problem}`;
    try {
      parseLabDefinition({ name: run.name, tenants: run.tenants }, path);
    } catch (error) {
      if (error instanceof ValidationError) problems.push(...error.details.map(prefix));
      else throw error;
    }
    problems.push(...crossCheck(run, repoRoot, files).map(prefix));
  });
  // Comparisons and metrics share their names' namespace: --bench writes ratios.<name> and metrics.<name> by it.
  const names = new Set<string>();
  const named = (path: string, name: string): void => {
    if (names.has(name)) problems.push(`${path}.name: a second comparison or metric called ${name}`);
    names.add(name);
  };
  scenario.comparisons?.forEach((comparison, i) => {
    const path = `comparisons[${i}]`;
    if (variants.length === 0) return problems.push(`${path}: comparisons need variants to compare`);
    named(path, comparison.name);
    problems.push(...goalProblems(path, comparison.goal));
    for (const key of ['variant', 'against'] as const)
      problems.push(...figureProblems(path, key, comparison, resolved));
  });
  scenario.metrics?.forEach((metric, i) => {
    const path = `metrics[${i}]`;
    if (variants.length === 0) return problems.push(`${path}: metrics name a variant, and there are none`);
    named(path, metric.name);
    problems.push(...goalProblems(path, metric.goal));
    problems.push(...figureProblems(path, 'variant', metric, resolved));
  });
  return problems;
}

/** Figures read from the seed 004 loop on Kafka: a variant without allocator settings runs no such loop. */
const ALLOCATOR_FIGURES: ReadonlySet<ComparisonFigure> = new Set([
  'satisfactionMean',
  'satisfactionP5',
  'decisionToInstalledP99Ms',
  'relinks',
]);

/**
 * What is wrong with one figure of the variant `figure[key]` names: no such variant, VMs or tenants it does not run, a
 * latency figure without `vms`, or a seed 004 loop figure of a variant without `allocator` settings.
 */
function figureProblems<K extends string>(
  path: string,
  key: K,
  figure: Record<K, string> & Pick<ScenarioMetric, 'figure' | 'vms' | 'tenants'>,
  resolved: ReadonlyMap<string, Scenario>,
): string[] {
  const problems: string[] = [];
  const name = figure[key];
  if ((figure.figure === 'p99Us' || figure.figure === 'p50Us') && !figure.vms && key !== 'against') {
    problems.push(`${path}.vms: required for a latency figure`);
  }
  const run = resolved.get(name);
  if (!run) return [...problems, `${path}.${key}: no variant ${name} in variants[]`];
  if (ALLOCATOR_FIGURES.has(figure.figure) && !run.allocator) {
    problems.push(`${path}.figure: ${figure.figure} needs allocator settings, and variant ${name} has none`);
  }
  const vms = new Set(run.tenants.flatMap((t) => t.vms));
  const tenants = new Set(run.tenants.map((t) => t.id));
  figure.vms?.forEach((vm, j) => {
    if (!vms.has(vm)) problems.push(`${path}.vms[${j}]: variant ${name} has no VM ${vm}`);
  });
  figure.tenants?.forEach((id, j) => {
    if (!tenants.has(id)) problems.push(`${path}.tenants[${j}]: variant ${name} has no tenant ${id}`);
  });
  return problems;
}

/** A goal no figure can meet (the schema cannot compare two of its numbers). */
function goalProblems(path: string, goal: ScenarioMetric['goal']): string[] {
  if (goal?.atLeast === undefined || goal.atMost === undefined || goal.atLeast <= goal.atMost) return [];
  return [`${path}.goal: atLeast ${goal.atLeast} is more than atMost ${goal.atMost}, so no figure can meet it`];
}

function invalid(source: string, problems: string[]): ValidationError {
  return new ValidationError(`${source} is invalid: ${problems.join('; ')}`, problems);
}

/** What the schema cannot check: names that must exist, times within the run, ranges in order, program files. */
function crossCheck(scenario: Scenario, repoRoot: string, files: LoadedFiles): string[] {
  const { programs, pcaps } = files;
  const problems: string[] = [];
  const vms = new Set(scenario.tenants.flatMap((t) => t.vms));
  const tenants = new Set(scenario.tenants.map((t) => t.id));
  const duration = scenario.durationMs ?? DEFAULT_DURATION_MS;
  const vm = (path: string, value: string): void => {
    if (!vms.has(value)) problems.push(`${path}: no VM ${value} in tenants[].vms`);
  };
  const tenant = (path: string, value: string): void => {
    if (!tenants.has(value)) problems.push(`${path}: no tenant ${value} in tenants[]`);
  };
  const time = (path: string, value: MsRange): void => {
    const [min, max] = typeof value === 'number' ? [value, value] : value;
    if (min > max) problems.push(`${path}: [min, max] with min above max`);
    if (max > duration) problems.push(`${path}: ${max} ms is after the end of the run (durationMs ${duration})`);
  };
  const target = (path: string, value: string): void => {
    const slash = value.indexOf('/');
    if (slash >= 0) vm(path, value.slice(0, slash));
  };
  const program = (path: string, value: ProgramSource): void => {
    if (typeof value !== 'string') return;
    const file = isAbsolute(value) ? value : resolve(repoRoot, value);
    try {
      const document: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof document !== 'object' || document === null) throw new Error('not a JSON object');
      programs.set(value, document as Record<string, unknown>);
    } catch (error) {
      problems.push(`${path}: cannot read program ${value}: ${(error as Error).message}`);
    }
  };
  const pcap = (path: string, value: string): void => {
    if (pcaps.has(value)) return;
    const file = resolve(files.scenarioDir, value);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      return void problems.push(`${path}: cannot read pcap ${file}: ${(error as Error).message}`);
    }
    try {
      const capture = readPcap(bytes, file);
      if (capture.records.length === 0) return void problems.push(`${path}: ${file} holds no frames to replay`);
      pcaps.set(value, capture);
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`);
    }
  };
  scenario.tenants.forEach((t, i) => {
    t.allow?.forEach((rule, r) => tenant(`tenants[${i}].allow[${r}].to`, rule.to));
    if (t.program !== undefined) program(`tenants[${i}].program`, t.program);
    if (t.program !== undefined && t.vms.length === 0) {
      problems.push(`tenants[${i}].program: the tenant needs a VM to submit its program through`);
    }
  });
  scenario.workloads?.forEach((w, i) => {
    const path = `workloads[${i}]`;
    if (w.kind === 'echo') return vm(`${path}.vm`, w.vm);
    vm(`${path}.from`, w.from);
    if (w.kind === 'traffic') {
      w.to.forEach((to, j) => vm(`${path}.to[${j}]`, to));
      if (w.phases) (['onMs', 'offMs'] as const).forEach((k) => time(`${path}.phases.${k}`, w.phases![k]));
    } else if (w.kind === 'replay') {
      if (w.to !== undefined) vm(`${path}.to`, w.to);
      pcap(`${path}.pcap`, w.pcap);
    } else target(`${path}.target`, w.target);
    if (w.startMs !== undefined) time(`${path}.startMs`, w.startMs);
    if (w.stopMs !== undefined) time(`${path}.stopMs`, w.stopMs);
    if ((w.stopMs ?? duration) <= (w.startMs ?? 0)) problems.push(`${path}.stopMs: must be after startMs`);
  });
  scenario.timeline?.forEach((e, i) => {
    const path = `timeline[${i}]`;
    time(`${path}.atMs`, e.atMs);
    switch (e.kind) {
      case 'kill':
      case 'pause':
        if (!LAB_COMPONENTS.includes(e.target) && !vms.has(e.target)) {
          problems.push(`${path}.target: no component ${e.target} (one of ${LAB_COMPONENTS.join(', ')} or a VM)`);
        }
        break;
      case 'impair':
      case 'clear-impairment':
        vm(`${path}.vm`, e.vm);
        break;
      case 'program':
        tenant(`${path}.tenant`, e.tenant);
        program(`${path}.program`, e.program);
        break;
      case 'cpu-weight':
      case 'sampling':
        tenant(`${path}.tenant`, e.tenant);
        break;
      case 'restart-empty':
        break;
    }
  });
  return problems;
}
