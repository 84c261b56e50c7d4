import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LabDefinition } from '../lab-definition';
import { CPU_CGROUP_ROOT, prepareTenantCpuGroups, tenantCpuGroupPath } from '../tenant-cpu-groups';
import { vmCpuGroupVariable } from './compose-file';
import { dockerBinary } from './docker-engine';

/** Docker's own group under the cgroupfs driver, holding a group per container (the services' among them). */
const DOCKER_PARENT = 'docker';
/** Where the kernel mounts cgroup v1's controllers, one directory each. */
const CGROUP_MOUNTS = '/sys/fs/cgroup';

/**
 * Why the engine's containers cannot be put in tenant groups the lab makes, or undefined when they can: the engine
 * must run on this machine (its cgroups are this kernel's) with the cgroupfs driver on cgroup v1, where a container's
 * cgroup parent is a path the lab can make and weigh beforehand. (Under the systemd driver a parent is a `.slice`
 * systemd makes, weighed with CPUWeight; not handled yet.)
 */
export function dockerCpuGroupsUnavailable(engineCgroups: string | undefined): string | undefined {
  const host = process.env['DOCKER_HOST'];
  if (host && !host.startsWith('unix://')) return `the engine is not on this machine (DOCKER_HOST=${host})`;
  if (engineCgroups === undefined) return 'the engine did not say its cgroup driver';
  if (engineCgroups !== 'cgroupfs 1') {
    return `the engine's cgroup driver and version are "${engineCgroups}", the lab handles only "cgroupfs 1"`;
  }
  return undefined;
}

/** `docker info`'s cgroup driver and version, as "<driver> <version>" (e.g. "cgroupfs 1"). */
export function engineCgroupDriver(): string | undefined {
  const result = spawnSync(dockerBinary(), ['info', '--format', '{{.CgroupDriver}} {{.CgroupVersion}}'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export type DockerCpuGroups = { env: Record<string, string> } | { unavailable: string };

/**
 * Docker mode's tenant CPU groups (issue 10; local mode's in tenant-cpu-groups.ts): each VM container weighs
 * VM_CPU_SHARES on its own, so a tenant's weight would be its number of containers. The lab makes one group per
 * tenant inside a group of the lab's, all under Docker's `/docker` beside the services' containers (the lab's group
 * weighing VM_CPU_SHARES per VM against a service's 1024, as the containers did), and gives each VM container its
 * tenant's group as cgroup parent through vmCpuGroupVariable. Returns those variables, or why there are none (the
 * containers then weigh one each, as before).
 */
export function prepareDockerTenantCpuGroups(
  profile: string,
  definition: LabDefinition,
  whyUnavailable: () => string | undefined = () => dockerCpuGroupsUnavailable(engineCgroupDriver()),
  /** The cpu controller's mount. */
  root = CPU_CGROUP_ROOT,
): DockerCpuGroups {
  const unavailable = whyUnavailable();
  if (unavailable !== undefined) return { unavailable };
  const vmsPerTenant = new Map(definition.tenants.map((tenant) => [tenant.id, tenant.vms.length]));
  const groups = prepareTenantCpuGroups(profile, vmsPerTenant, root, DOCKER_PARENT);
  if ('unavailable' in groups) return groups;
  return {
    env: Object.fromEntries(
      definition.tenants.map((tenant) => [vmCpuGroupVariable(tenant.id), groups.path(tenant.id) ?? '']),
    ),
  };
}

/**
 * Removes the lab's tenant groups once its containers are gone. Docker's runtime made the same path under every
 * controller (cpuacct, memory, pids...), not only cpu: each is removed, tenants' first. A group still holding a
 * process stays (left to the next lab of the profile).
 */
export function removeDockerTenantCpuGroups(profile: string, mounts = CGROUP_MOUNTS): void {
  if (!existsSync(mounts)) return;
  const labGroup = tenantCpuGroupPath(profile, undefined, DOCKER_PARENT);
  for (const controller of readdirSync(mounts)) {
    const dir = join(mounts, controller, labGroup);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) removeGroup(join(dir, entry.name));
    }
    removeGroup(dir);
  }
}

function removeGroup(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Still holding a process, or gone already.
  }
}
