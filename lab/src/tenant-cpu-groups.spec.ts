import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cpuGroupsProgress, inTenantCpuGroup, prepareTenantCpuGroups } from './tenant-cpu-groups';

describe('tenant CPU groups', () => {
  it('says why not, and makes nothing, where there is no cgroup v1 cpu controller', () => {
    const root = mkdtempSync(join(tmpdir(), 'no-cgroup-'));
    try {
      const groups = prepareTenantCpuGroups('lab', new Map([['tenant-a', 2]]), root);
      assert.deepEqual(groups, { unavailable: `no cgroup v1 cpu controller at ${root}` });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('has lab up say why VMs are weighed one each where there are no groups, and where the groups are otherwise', () => {
    const groups = prepareTenantCpuGroups('lab', new Map([['tenant-a', 2]]), '/nonexistent/cgroup/cpu');
    assert.equal(
      cpuGroupsProgress('processes', groups as { unavailable: string }),
      'tenant VM processes are weighed on the CPU one each, not per tenant: no cgroup v1 cpu controller at ' +
        '/nonexistent/cgroup/cpu',
    );
    assert.equal(
      cpuGroupsProgress('containers', { dir: '/docker/tenantlab-lab' }),
      'tenant VM containers get one CPU group per tenant (/docker/tenantlab-lab)',
    );
  });

  it("runs a command with its own pid written to the group's procs file first, and the command's output intact", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-group-'));
    try {
      const procs = join(dir, 'cgroup.procs');
      writeFileSync(procs, '');
      const { command, args } = inTenantCpuGroup(procs, process.execPath, [
        '-e',
        'process.stdout.write(String(process.pid))',
      ]);
      const run = spawnSync(command, args, { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      // exec keeps the shell's pid: the pid written is the command's own.
      assert.equal(readFileSync(procs, 'utf8').trim(), run.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the command all the same when its group cannot be joined', () => {
    const { command, args } = inTenantCpuGroup('/nonexistent/cgroup.procs', process.execPath, ['-e', 'console.log(7)']);
    const run = spawnSync(command, args, { encoding: 'utf8' });
    assert.equal(run.status, 0);
    assert.equal(run.stdout.trim(), '7');
    assert.equal(run.stderr, '');
  });
});
