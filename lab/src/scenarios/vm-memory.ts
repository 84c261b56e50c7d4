import { containerMemory, listContainers } from '../docker/docker-lab';
import { type LabState, residentBytes } from '../lab-state';

/** The resident memory of a lab's tenant VMs at one moment, across the VMs (MiB, one decimal). */
export interface VmMemory {
  vms: number;
  p10MiB: number;
  p50MiB: number;
  p90MiB: number;
  maxMiB: number;
  totalMiB: number;
}

/** Memory per VM when the lab had come up (idle) and near the end of the timeline (under the workloads). */
export interface VmMemoryFigures {
  ready?: VmMemory;
  end?: VmMemory;
}

const MIB = 1024 * 1024;

/** The spread of per-VM resident bytes (nearest-rank percentiles); undefined when no VM was measured. */
export function vmMemoryOf(bytes: readonly number[]): VmMemory | undefined {
  if (bytes.length === 0) return undefined;
  const sorted = [...bytes].sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const mib = (value: number): number => Math.round((value / MIB) * 10) / 10;
  return {
    vms: sorted.length,
    p10MiB: mib(rank(0.1)),
    p50MiB: mib(rank(0.5)),
    p90MiB: mib(rank(0.9)),
    maxMiB: mib(sorted[sorted.length - 1] ?? 0),
    totalMiB: mib(sorted.reduce((sum, value) => sum + value, 0)),
  };
}

/**
 * Each running VM's resident memory: the process's RSS in local mode, the container's memory use (`docker stats`) in
 * Docker mode, as `lab status` shows them. VMs not running are left out.
 */
export async function readVmMemory(state: LabState): Promise<number[]> {
  const vms = state.components.filter((component) => component.kind === 'vm');
  if (state.mode === 'docker') {
    const containers = await listContainers(state.profile);
    const ids = vms.flatMap((vm) => {
      const container = containers.get(vm.name);
      return container?.running ? [container.id] : [];
    });
    return [...(await containerMemory(ids)).values()].filter((bytes) => bytes > 0);
  }
  return vms.flatMap((vm) => residentBytes(vm.pid) ?? []);
}

/** One progress line: "memory per VM (ready): p50 94.1 MiB (p10 90.0, p90 98.2, max 101.0), 12046.0 MiB for 128 VMs". */
export function describeVmMemory(when: string, memory: VmMemory | undefined): string {
  if (!memory) return `memory per VM (${when}): no VM measured`;
  return (
    `memory per VM (${when}): p50 ${memory.p50MiB} MiB (p10 ${memory.p10MiB}, p90 ${memory.p90MiB}, ` +
    `max ${memory.maxMiB}), ${memory.totalMiB} MiB for ${memory.vms} VMs`
  );
}
