import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VM_CPU_SHARES } from './vm-priority';

/** Where the kernel mounts cgroup v1's cpu controller. */
export const CPU_CGROUP_ROOT = '/sys/fs/cgroup/cpu';
/** Each tenant's group weighs the same inside the lab's, whatever its number of VMs. */
const TENANT_SHARES = 1024;
/** cgroup v1's bounds on cpu.shares. */
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

/** The lab's tenant groups, made: where a VM process of a tenant joins its group. */
export interface TenantCpuGroups {
  /** The lab's group, `<root>/tenantlab-<profile>`. */
  dir: string;
  /** The `cgroup.procs` file of `tenant`'s group, which a VM process writes its pid to (see inTenantCpuGroup). */
  procsFile(tenant: string): string | undefined;
  /**
   * `tenant`'s group as the kernel names it (from the controller's root, `/<parent>/tenantlab-<profile>/<tenant>`):
   * what /proc/<pid>/cgroup shows for a process in it, and a VM container's cgroup parent in Docker mode.
   */
  path(tenant: string): string | undefined;
  /** Removes the groups (once their processes have exited; a group still holding one stays). */
  remove(): void;
}

/**
 * One CPU group per tenant for the lab's VM processes (issue 10: a tenant's share of the machine must not grow with
 * its number of VMs, as the switch's read scheduler shares the switch over tenants, not ports). Without them each VM
 * process weighs VM_CPU_SHARES (nice 10) on its own, so a tenant with 16 busy VMs takes 16 times the CPU of a tenant
 * with one when both want more than they get. The groups sit in one group of the lab, weighing what its VMs weighed
 * as processes (VM_CPU_SHARES each, against a service's 1024, so the VMs together stay below the shared services as
 * before), and inside it every tenant's group weighs the same. VM processes keep nice 10, which now orders them only
 * within their tenant's group.
 *
 * Needs cgroup v1's cpu controller and the right to make groups in it (root, as here); otherwise it says why not and
 * the VMs are weighed per process, as before. cgroup v2 (cpu.weight, subtree delegation) is not handled yet.
 */
export function prepareTenantCpuGroups(
  profile: string,
  vmsPerTenant: ReadonlyMap<string, number>,
  root = CPU_CGROUP_ROOT,
  /**
   * The group the lab's group sits in, from the controller's root: none for local VM processes (beside the services,
   * which run in the root group), `docker` for VM containers (beside the services' containers, each in its own group
   * under Docker's `/docker`).
   */
  parent = '',
): TenantCpuGroups | { unavailable: string } {
  if (!existsSync(join(root, 'cpu.shares'))) {
    return { unavailable: `no cgroup v1 cpu controller at ${root}` };
  }
  const labGroup = tenantCpuGroupPath(profile, undefined, parent);
  const dir = join(root, labGroup);
  const vms = [...vmsPerTenant.values()].reduce((sum, n) => sum + n, 0);
  const tenantDirs = new Map<string, string>();
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cpu.shares'), String(clampShares(VM_CPU_SHARES * Math.max(1, vms))));
    for (const tenant of vmsPerTenant.keys()) {
      const tenantDir = join(dir, safeName(tenant));
      mkdirSync(tenantDir, { recursive: true });
      writeFileSync(join(tenantDir, 'cpu.shares'), String(TENANT_SHARES));
      tenantDirs.set(tenant, tenantDir);
    }
  } catch (error) {
    return { unavailable: `cannot make CPU groups in ${root}: ${(error as Error).message}` };
  }
  return {
    dir,
    procsFile: (tenant) => {
      const tenantDir = tenantDirs.get(tenant);
      return tenantDir === undefined ? undefined : join(tenantDir, 'cgroup.procs');
    },
    path: (tenant) => (tenantDirs.has(tenant) ? tenantCpuGroupPath(profile, tenant, parent) : undefined),
    remove: () => {
      for (const tenantDir of [...tenantDirs.values(), dir]) {
        try {
          rmdirSync(tenantDir);
        } catch {
          // Still holding a process (one that outlived its stop), or gone already: left to the next lab of the profile.
        }
      }
    },
  };
}

/**
 * The line `lab up` prints about the tenant groups: where they are, or why the tenants' VMs (`processes` locally,
 * `containers` in Docker) are weighed one each instead.
 */
export function cpuGroupsProgress(
  vms: 'processes' | 'containers',
  outcome: { dir: string } | { unavailable: string },
): string {
  return 'unavailable' in outcome
    ? `tenant VM ${vms} are weighed on the CPU one each, not per tenant: ${outcome.unavailable}`
    : `tenant VM ${vms} get one CPU group per tenant (${outcome.dir})`;
}

/**
 * `command args` run in the CPU group whose `cgroup.procs` is `procsFile`: a shell writes its own pid there, then
 * execs the command, so the process is in its group before it starts a thread (threads inherit it), and a VM the
 * lab starts again after a crash joins it too. When the write fails the command runs all the same, outside.
 */
export function inTenantCpuGroup(
  procsFile: string,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  return { command: 'sh', args: ['-c', '{ echo $$ > "$0"; } 2>/dev/null; exec "$@"', procsFile, command, ...args] };
}

function clampShares(shares: number): number {
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.round(shares)));
}

/**
 * The lab's group (no tenant) or a tenant's, from the cpu controller's root: `/<parent>/tenantlab-<profile>[/<tenant>]`.
 */
export function tenantCpuGroupPath(profile: string, tenant?: string, parent = ''): string {
  return ['', parent, `tenantlab-${safeName(profile)}`, ...(tenant === undefined ? [] : [safeName(tenant)])]
    .filter((part, index) => index === 0 || part !== '')
    .join('/');
}

/** A profile or tenant id as a directory name: letters, digits, '-' and '_' kept, anything else '_'. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The cpu controller's group of process `pid` (cgroup v1: the `<n>:cpu,...:<path>` line of /proc/<pid>/cgroup). */
export function cpuGroupOf(pid: number): string | undefined {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes('cpu'));
  return line?.split(':')[2];
}
