import type { ProgramResources, ValidProgram } from '@tenantlab/shared';
import { MemoryMap, type PageTable } from '../memory/memory-map';

/** One tenant's part of the linked pipeline: its validated program and where its registers live. */
export interface LinkedTenant {
  readonly program: ValidProgram;
  readonly pageTable: PageTable;
}

/**
 * What the switch installs (seed 004's "merged jumbo program"): every tenant's program with its page table. The
 * system program dispatches on the VLAN id the switch tags each frame with, and the switch knows each tenant's
 * VLAN, so the pipeline is keyed by tenant and carries no VLAN itself.
 */
export interface LinkedPipeline {
  /** 1 for the first pipeline, one more for each change. */
  readonly version: number;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly tenants: Readonly<Record<string, LinkedTenant>>;
}

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
