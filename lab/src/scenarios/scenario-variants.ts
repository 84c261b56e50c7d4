import type { AllocatorSettings, Scenario, ScenarioEvent, ScenarioVariant, SwitchSettings, Workload } from './scenario';

/** One run of a scenario: the file itself, or one of its variants resolved into a whole scenario. */
export interface ScenarioRunSpec {
  /** The variant's name; undefined for a scenario without variants. */
  variant?: string;
  description?: string;
  scenario: Scenario;
}

/** The runs a scenario asks for: itself, or each of its variants in the file's order. */
export function runsOf(scenario: Scenario): ScenarioRunSpec[] {
  if (!scenario.variants?.length) return [{ scenario }];
  return scenario.variants.map((variant) => ({
    variant: variant.name,
    ...(variant.description === undefined ? {} : { description: variant.description }),
    scenario: resolveVariant(scenario, variant),
  }));
}

/**
 * The scenario as one variant runs it: `tenants`, `workloads` and `switch` replaced where the variant gives them
 * (`allocator` merged over the scenario's),
 * then `withoutTenants` left out with everything that names them or their VMs (a traffic workload keeps the
 * destinations that remain). The result has no variants or comparisons of its own.
 */
export function resolveVariant(scenario: Scenario, variant: ScenarioVariant): Scenario {
  const resolved: Scenario = {
    ...scenario,
    tenants: variant.tenants ?? scenario.tenants,
    ...((variant.workloads ?? scenario.workloads) ? { workloads: variant.workloads ?? scenario.workloads } : {}),
    ...((variant.switch ?? scenario.switch) ? { switch: variant.switch ?? scenario.switch } : {}),
  };
  // Allocator settings merge: a variant names only what it changes (the reallocation mode, say).
  if (variant.allocator ?? scenario.allocator) resolved.allocator = { ...scenario.allocator, ...variant.allocator };
  delete resolved.variants;
  delete resolved.comparisons;
  delete resolved.metrics;
  const without = new Set(variant.withoutTenants ?? []);
  if (without.size === 0) return resolved;
  const goneVms = new Set(resolved.tenants.filter((t) => without.has(t.id)).flatMap((t) => t.vms));
  const vmGone = (target: string): boolean => {
    const slash = target.indexOf('/');
    return slash >= 0 && goneVms.has(target.slice(0, slash));
  };
  resolved.tenants = resolved.tenants
    .filter((t) => !without.has(t.id))
    .map((t) => (t.allow ? { ...t, allow: t.allow.filter((rule) => !without.has(rule.to)) } : t));
  if (resolved.workloads) {
    resolved.workloads = resolved.workloads.flatMap((w): Workload[] => {
      if (w.kind === 'echo') return goneVms.has(w.vm) ? [] : [w];
      if (goneVms.has(w.from)) return [];
      if (w.kind === 'replay') return w.to !== undefined && goneVms.has(w.to) ? [] : [w];
      if (w.kind !== 'traffic') return vmGone(w.target) ? [] : [w];
      const to = w.to.filter((vm) => !goneVms.has(vm));
      return to.length ? [{ ...w, to }] : [];
    });
  }
  if (resolved.timeline) {
    resolved.timeline = resolved.timeline.filter((e: ScenarioEvent) => {
      if ('tenant' in e) return !without.has(e.tenant);
      if ('vm' in e) return !goneVms.has(e.vm);
      return !goneVms.has(e.target);
    });
  }
  return resolved;
}

/** The switch's environment for a run's settings. */
export function switchEnvOf(settings: SwitchSettings | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (settings?.programCpuNsPerSecond !== undefined) {
    env['PROGRAM_CPU_NS_PER_SECOND'] = String(settings.programCpuNsPerSecond);
  }
  if (settings?.programCpuBurstNs !== undefined) env['PROGRAM_CPU_BURST_NS'] = String(settings.programCpuBurstNs);
  if (settings?.tenantQuantum !== undefined) env['SWITCH_TENANT_QUANTUM'] = String(settings.tenantQuantum);
  if (settings?.utilityWindowMs !== undefined) env['UTILITY_WINDOW_MS'] = String(settings.utilityWindowMs);
  if (settings?.utilityWindowReset !== undefined) env['UTILITY_WINDOW_RESET'] = String(settings.utilityWindowReset);
  return env;
}

/** The allocator's environment for a run's settings. */
export function allocatorEnvOf(settings: AllocatorSettings | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (settings?.reallocation !== undefined) env['ALLOCATOR_REALLOCATION'] = settings.reallocation;
  if (settings?.settleMs !== undefined) env['REALLOCATION_SETTLE_MS'] = String(settings.settleMs);
  Object.assign(env, memoryEnvOf(settings));
  if (settings?.opsPerPacket !== undefined) env['SWITCH_OPS_PER_PACKET'] = String(settings.opsPerPacket);
  if (settings?.tenantOpsPerPacket !== undefined) {
    env['TENANT_QUOTA_OPS_PER_PACKET'] = String(settings.tenantOpsPerPacket);
  }
  if (settings?.tenantTables !== undefined) env['TENANT_QUOTA_TABLES'] = String(settings.tenantTables);
  return env;
}

/** The register memory both the allocator (which shares it out) and the switch (which holds it) are given. */
export function memoryEnvOf(settings: AllocatorSettings | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (settings?.stages !== undefined) env['SWITCH_STAGES'] = String(settings.stages);
  if (settings?.registerCellsPerStage !== undefined) {
    env['REGISTER_CELLS_PER_STAGE'] = String(settings.registerCellsPerStage);
  }
  return env;
}
