import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CPU_CGROUP_ROOT,
  cpuGroupOf,
  inTenantCpuGroup,
  prepareTenantCpuGroups,
  type TenantCpuGroups,
} from './tenant-cpu-groups';
import { atVmPriority, VM_CPU_SHARES } from './vm-priority';

/**
 * On this machine's cgroup v1 cpu controller (the lab's CI runs as root): the groups a local lab makes for its
 * tenants' VMs, and a VM process started in one, as the lab runner starts it.
 */
describe("tenant CPU groups on the kernel's cpu controller", () => {
  it("makes a group per tenant inside the lab's, puts a VM process (every thread) in its tenant's, and removes them", async () => {
    const groups = prepareTenantCpuGroups(
      `int-${process.pid}`,
      new Map([
        ['tenant-a', 3],
        ['tenant-b', 1],
      ]),
    ) as TenantCpuGroups;
    assert.ok(!('unavailable' in groups), JSON.stringify(groups));
    try {
      // The lab's group weighs what its four VMs weighed as processes; the tenants weigh the same inside it.
      assert.equal(readFileSync(join(groups.dir, 'cpu.shares'), 'utf8').trim(), String(4 * VM_CPU_SHARES));
      for (const tenant of ['tenant-a', 'tenant-b']) {
        assert.equal(readFileSync(join(groups.dir, tenant, 'cpu.shares'), 'utf8').trim(), '1024');
      }
      const node = atVmPriority(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
      const { command, args } = inTenantCpuGroup(groups.procsFile('tenant-b')!, node.command, node.args);
      const vm = spawn(command, args, { stdio: 'ignore' });
      try {
        const expected = `/${groups.dir.slice(CPU_CGROUP_ROOT.length + 1)}/tenant-b`;
        // Node's threads start after exec: each is in the group (a task is listed in the group's `tasks`).
        const deadline = Date.now() + 10_000;
        while (cpuGroupOf(vm.pid!) !== expected && Date.now() < deadline) {
          await new Promise((resolve) => setImmediate(resolve));
        }
        assert.equal(cpuGroupOf(vm.pid!), expected);
        const tasks = readFileSync(join(groups.dir, 'tenant-b', 'tasks'), 'utf8')
          .trim()
          .split('\n');
        assert.ok(tasks.includes(String(vm.pid)), `tasks of tenant-b: ${tasks.join(' ')}`);
      } finally {
        vm.kill('SIGKILL');
        await new Promise((resolve) => vm.once('exit', resolve));
      }
    } finally {
      groups.remove();
    }
    assert.equal(existsSync(groups.dir), false, 'the groups are removed once their processes exited');
  });
});
