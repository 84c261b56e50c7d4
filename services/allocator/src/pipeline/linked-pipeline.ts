import type { LinkedPipeline, ProgramResources } from '@tenantlab/shared';
import { MemoryMap } from '../memory/memory-map';

export type { LinkedPipeline, LinkedTenant } from '@tenantlab/shared';

/** What there is before any program was linked: no stored pipeline is version 0. */
export const NO_PIPELINE: LinkedPipeline = { version: 0, createdAt: new Date(0).toISOString(), tenants: {} };

/** Rebuilds the register memory map a stored pipeline describes (at boot, or after another allocator changed it). */
export function memoryMapOf(pipeline: LinkedPipeline, stages: number, cellsPerStage: number): MemoryMap {
  const map = new MemoryMap(stages, cellsPerStage);
  for (const [tenant, linked] of Object.entries(pipeline.tenants)) {
    for (const [register, entry] of Object.entries(linked.pageTable)) {
      try {
        map.restore(tenant, linked.program.program.name, register, entry);
      } catch (error) {
        throw new Error(
          `the stored pipeline version ${pipeline.version} does not fit this switch (${stages} stages of ` +
            `${cellsPerStage} cells): ${error instanceof Error ? error.message : String(error)}. Start the allocator ` +
            'with the switch configuration that pipeline was linked for, or remove the tenants whose slices no longer fit.',
          { cause: error },
        );
      }
    }
  }
  return map;
}

/** Sums one resource over the tenants' programs, leaving out `except` (the tenant being replaced or removed). */
export function usedBy(
  pipeline: LinkedPipeline,
  resource: keyof ProgramResources,
  except: string | undefined = undefined,
): number {
  return Object.entries(pipeline.tenants)
    .filter(([tenant]) => tenant !== except)
    .reduce((total, [, linked]) => total + linked.program.resources[resource], 0);
}
