import { readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * The tenant VMs' CPU priority when the lab file does not say (`vmNice`): below the shared services' (nice 0), so on a
 * busy machine a tenant's processes give way to the switch, Redis and the other services rather than take their CPU
 * (issue 10: a storm's writers on the same cores as the switch raised another tenant's p99). Nice 10 weighs about a
 * tenth of nice 0 when both want the CPU; a VM on an idle machine runs as fast as before.
 */
export const DEFAULT_VM_NICE = 10;
export const MAX_VM_NICE = 19;

/**
 * The kernel's CFS weight per nice value 0..19 (kernel/sched/core.c, sched_prio_to_weight); nice 0 weighs 1024, the
 * default `cpu_shares` of a container. A container's cpu_shares of `VM_CPU_WEIGHTS[n]` thus weighs against the
 * services' containers as a process at nice n weighs against processes at nice 0.
 */
const VM_CPU_WEIGHTS = [
  1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
] as const;

/** The lab file's `vmNice`, checked: an integer from 0 (as the services) to 19 (the lowest). */
export function isVmNice(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_VM_NICE;
}

function assertVmNice(nice: number): void {
  if (!isVmNice(nice)) throw new RangeError(`vmNice must be an integer from 0 to ${MAX_VM_NICE}, not ${String(nice)}`);
}

/** Docker mode's `cpu_shares` for a VM container at `nice`: the same weight against the services as local mode's. */
export function vmCpuShares(nice: number): number {
  assertVmNice(nice);
  return VM_CPU_WEIGHTS[nice];
}

/** A process's CPU priority as the kernel holds it: its nice, and its autogroup's when it has one of its own. */
export interface CpuPriority {
  nice: number;
  /** The nice of the process's autogroup (`/proc/<pid>/autogroup`); undefined where the kernel has none. */
  autogroupNice?: number;
  /** Whether the process leads its own session, and so its own autogroup (a lab process: spawned detached). */
  sessionLeader: boolean;
}

/** Reads `pid`'s nice (field 19 of /proc/<pid>/stat), session (field 6) and autogroup nice. Linux only. */
export function cpuPriorityOf(pid: number): CpuPriority {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 (state) on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const autogroup = readAutogroup(pid);
  return {
    nice: Number(fields[16]),
    sessionLeader: Number(fields[3]) === pid,
    ...(autogroup ? { autogroupNice: autogroup.nice } : {}),
  };
}

/**
 * Lowers `pid`'s CPU priority to `nice`. With the kernel's autogroups on (Linux's default on desktops and here), a
 * process that leads its own session (the lab spawns every component detached) is alone in its autogroup, and the
 * scheduler shares the CPU between autogroups by the group's nice, not the process's: so its autogroup's nice is
 * set too, else the VM would weigh as much as a service whatever its own nice. A process in its caller's session
 * (the benchmark's stand-in VMs) shares the caller's autogroup, where its own nice is what counts: that group is
 * left alone. Rejects when the kernel refuses (a nice below the current one needs privileges).
 */
export async function lowerCpuPriority(pid: number, nice: number): Promise<void> {
  assertVmNice(nice);
  setPriority(pid, nice);
  if (!cpuPriorityOf(pid).sessionLeader || readAutogroup(pid) === undefined) return;
  // An unprivileged process may change an autogroup's nice only once per 100 ms, machine-wide (EAGAIN otherwise):
  // a lab starts its VMs together, so each waits its turn.
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(`/proc/${pid}/autogroup`, String(nice));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 50));
    }
  }
}

/** `/autogroup-123 nice 10` from /proc/<pid>/autogroup; undefined where autogroups are off or absent. */
function readAutogroup(pid: number): { nice: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/autogroup`, 'utf8');
  } catch {
    return undefined;
  }
  const match = / nice (-?\d+)/.exec(text);
  return match ? { nice: Number(match[1]) } : undefined;
}
