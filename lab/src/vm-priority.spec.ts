import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { parseLabDefinition } from './lab-definition';
import { cpuPriorityOf, DEFAULT_VM_NICE, lowerCpuPriority, vmCpuShares } from './vm-priority';

const LINUX_ONLY = { skip: process.platform !== 'linux' && 'reads /proc/<pid>' };

describe('tenant VM CPU priority', () => {
  const children: ChildProcess[] = [];
  /** A process that waits on stdin until the test ends it: as the lab spawns its components, or in our session. */
  const idleProcess = (detached: boolean): number => {
    const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], {
      detached,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(child);
    return child.pid ?? 0;
  };

  after(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('weighs a VM container as the kernel weighs a process at that nice against nice 0 (1024)', () => {
    assert.deepEqual([0, 1, 5, DEFAULT_VM_NICE, 19].map(vmCpuShares), [1024, 820, 335, 110, 15]);
    assert.throws(() => vmCpuShares(-1), RangeError);
    assert.throws(() => vmCpuShares(2.5), RangeError);
  });

  it('takes vmNice from a lab file only as an integer from 0 to 19', () => {
    const lab = (vmNice: unknown): unknown => ({ name: 'x', tenants: [{ id: 't', vms: ['v'] }], vmNice });
    assert.equal(parseLabDefinition(lab(19), 'x').vmNice, 19);
    assert.equal(parseLabDefinition(lab(undefined), 'x').vmNice, undefined);
    for (const bad of [-1, 20, 1.5, '10']) {
      assert.throws(() => parseLabDefinition(lab(bad), 'x'), /vmNice: expected an integer from 0 to 19 \(default 10\)/);
    }
  });

  it(
    'lowers a process that leads its own session (a lab component): its nice and its autogroup',
    LINUX_ONLY,
    async () => {
      const pid = idleProcess(true);
      const before = cpuPriorityOf(pid);
      assert.equal(before.sessionLeader, true);
      assert.equal(before.nice, 0);
      await lowerCpuPriority(pid, 10);
      const lowered = cpuPriorityOf(pid);
      assert.equal(lowered.nice, 10);
      // Where the kernel has autogroups, the group is the process's own: the scheduler weighs it by the group's nice.
      if (before.autogroupNice !== undefined) assert.equal(lowered.autogroupNice, 10);
    },
  );

  it(
    "lowers a process in the caller's session by its own nice only: the shared autogroup keeps its nice",
    LINUX_ONLY,
    async () => {
      const own = cpuPriorityOf(process.pid);
      const pid = idleProcess(false);
      assert.equal(cpuPriorityOf(pid).sessionLeader, false);
      await lowerCpuPriority(pid, 12);
      assert.equal(cpuPriorityOf(pid).nice, 12);
      assert.equal(cpuPriorityOf(pid).autogroupNice, own.autogroupNice);
      assert.equal(cpuPriorityOf(process.pid).nice, own.nice, 'the caller keeps its priority');
    },
  );
});
