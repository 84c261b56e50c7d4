import { mulberry32 } from '@tenantlab/shared';
import {
  DEFAULT_DRAIN_MS,
  DEFAULT_DURATION_MS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_SEED,
  type MsRange,
  type Scenario,
  type ScenarioEvent,
  type Workload,
} from './scenario';

/** One event of the timeline with its time drawn: what the runner applies, in `atMs` order. */
export interface PlannedEvent {
  /** Its index in the file's `timeline`, which error messages name. */
  index: number;
  label: string;
  atMs: number;
  /** When its effect ends (pause and impair with forMs): the report measures recovery from here. */
  untilMs?: number;
  event: ScenarioEvent;
}

export interface PlannedWorkload {
  index: number;
  workload: Workload;
  startMs: number;
  stopMs: number;
  /** Traffic: the on phases, drawn from the seed ([startMs, stopMs) when there are no phases). */
  onPhases: [number, number][];
  /** Traffic: the seed of the VM's Zipf flow picker. */
  seed: number;
}

/** Everything random in a scenario, drawn: the same scenario and seed give the same plan, byte for byte. */
export interface ScenarioPlan {
  seed: number;
  durationMs: number;
  intervalMs: number;
  drainMs: number;
  events: PlannedEvent[];
  workloads: PlannedWorkload[];
}

/**
 * Draws the scenario's random values. Each event and workload has a PRNG of its own, seeded from the scenario's seed
 * and its place in the file, so adding a workload does not move the events' times.
 */
export function planScenario(scenario: Scenario, seedOverride?: number): ScenarioPlan {
  const seed = seedOverride ?? scenario.seed ?? DEFAULT_SEED;
  const durationMs = scenario.durationMs ?? DEFAULT_DURATION_MS;
  const events = (scenario.timeline ?? []).map((event, index): PlannedEvent => {
    const random = mulberry32(mix(seed, 1, index));
    const atMs = draw(event.atMs, random);
    const forMs = 'forMs' in event ? event.forMs : undefined;
    const resolved: ScenarioEvent =
      event.kind === 'impair' ? { ...event, seed: event.seed ?? Math.floor(random() * 0xffffffff) } : event;
    return {
      index,
      label: event.label ?? describeEvent(event),
      atMs,
      ...(forMs === undefined ? {} : { untilMs: atMs + forMs }),
      event: resolved,
    };
  });
  events.sort((a, b) => a.atMs - b.atMs || a.index - b.index);
  const workloads = (scenario.workloads ?? []).map((workload, index): PlannedWorkload => {
    const random = mulberry32(mix(seed, 2, index));
    const startMs = 'startMs' in workload ? (workload.startMs ?? 0) : 0;
    const stopMs = Math.min(durationMs, 'stopMs' in workload ? (workload.stopMs ?? durationMs) : durationMs);
    const onPhases: [number, number][] = [];
    if (workload.kind === 'traffic' && workload.phases) {
      for (let t = startMs; t < stopMs;) {
        const on = Math.max(1, draw(workload.phases.onMs, random));
        onPhases.push([t, Math.min(stopMs, t + on)]);
        t += on + draw(workload.phases.offMs, random);
      }
    } else if (startMs < stopMs) onPhases.push([startMs, stopMs]);
    return { index, workload, startMs, stopMs, onPhases, seed: Math.floor(random() * 0xffffffff) };
  });
  return {
    seed,
    durationMs,
    intervalMs: scenario.collect?.intervalMs ?? DEFAULT_INTERVAL_MS,
    drainMs: scenario.collect?.drainMs ?? DEFAULT_DRAIN_MS,
    events,
    workloads,
  };
}

export function describeEvent(event: ScenarioEvent): string {
  switch (event.kind) {
    case 'kill':
    case 'pause':
    case 'restart-empty':
      return `${event.kind} ${event.target}`;
    case 'impair':
    case 'clear-impairment':
      return `${event.kind} ${event.vm}`;
    case 'program':
    case 'cpu-weight':
    case 'sampling':
      return `${event.kind} ${event.tenant}`;
  }
}

function draw(range: MsRange, random: () => number): number {
  if (typeof range === 'number') return range;
  const [min, max] = range;
  return min + Math.floor(random() * (max - min + 1));
}

/** A 32-bit seed for one stream of the scenario: splitmix-style mixing of the seed, the kind of item and its index. */
function mix(seed: number, kind: number, index: number): number {
  let h = (seed ^ Math.imul(kind, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
