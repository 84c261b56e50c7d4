import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { VM_CPU_SHARES } from '../vm-priority';
import {
  dockerCpuGroupsUnavailable,
  prepareDockerTenantCpuGroups,
  removeDockerTenantCpuGroups,
} from './docker-cpu-groups';
import { vmCpuGroupVariable } from './compose-file';

const definition = {
  name: 'two',
  tenants: [
    { id: 'tenant-a', vms: ['vm-a1', 'vm-a2'] },
    { id: 'tenant-b', vms: ['vm-b1'] },
  ],
};

describe("Docker mode's tenant CPU groups", () => {
  let root: string;
  const dockerHost = process.env['DOCKER_HOST'];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'docker-cgroups-'));
    delete process.env['DOCKER_HOST'];
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    if (dockerHost === undefined) delete process.env['DOCKER_HOST'];
    else process.env['DOCKER_HOST'] = dockerHost;
  });

  it('are made only for a local engine with the cgroupfs driver on cgroup v1, and say why not otherwise', () => {
    assert.equal(dockerCpuGroupsUnavailable('cgroupfs 1'), undefined);
    assert.match(dockerCpuGroupsUnavailable('systemd 2') ?? '', /"systemd 2", the lab handles only "cgroupfs 1"/);
    assert.match(dockerCpuGroupsUnavailable(undefined) ?? '', /did not say its cgroup driver/);
    process.env['DOCKER_HOST'] = 'tcp://10.0.0.5:2376';
    assert.match(dockerCpuGroupsUnavailable('cgroupfs 1') ?? '', /not on this machine \(DOCKER_HOST=tcp:/);
  });

  it("gives each tenant's VMs its group as cgroup parent, weighed the same, inside the lab's group", () => {
    const cpuRoot = join(root, 'cpu');
    mkdirSync(cpuRoot, { recursive: true });
    writeFileSync(join(cpuRoot, 'cpu.shares'), '1024');
    const groups = prepareDockerTenantCpuGroups('p1', definition, () => undefined, cpuRoot);
    const labDir = join(cpuRoot, 'docker', 'tenantlab-p1');
    assert.deepEqual(groups, {
      env: {
        [vmCpuGroupVariable('tenant-a')]: '/docker/tenantlab-p1/tenant-a',
        [vmCpuGroupVariable('tenant-b')]: '/docker/tenantlab-p1/tenant-b',
      },
    });
    // The lab's group weighs what its three containers weighed one each; the tenants weigh the same inside it.
    assert.equal(readFileSync(join(labDir, 'cpu.shares'), 'utf8'), String(3 * VM_CPU_SHARES));
    for (const tenant of ['tenant-a', 'tenant-b']) {
      assert.equal(readFileSync(join(labDir, tenant, 'cpu.shares'), 'utf8'), '1024');
    }
  });

  it('makes nothing and names no parent where the engine cannot use them', () => {
    const cpuRoot = join(root, 'cpu');
    mkdirSync(cpuRoot, { recursive: true });
    writeFileSync(join(cpuRoot, 'cpu.shares'), '1024');
    assert.deepEqual(
      prepareDockerTenantCpuGroups('p1', definition, () => 'no engine', cpuRoot),
      { unavailable: 'no engine' },
    );
    assert.equal(existsSync(join(cpuRoot, 'docker')), false);
  });

  it("removes the lab's groups under every controller, and leaves one still in use", () => {
    for (const controller of ['cpu', 'memory', 'pids']) {
      for (const tenant of ['tenant-a', 'tenant-b']) {
        mkdirSync(join(root, controller, 'docker', 'tenantlab-p1', tenant), { recursive: true });
      }
    }
    mkdirSync(join(root, 'cpu', 'docker', 'tenantlab-other', 'tenant-a'), { recursive: true });
    // A group holding something cannot be removed (the kernel refuses a group with a process or a child group).
    mkdirSync(join(root, 'memory', 'docker', 'tenantlab-p1', 'tenant-b', 'container'));
    removeDockerTenantCpuGroups('p1', root);
    assert.equal(existsSync(join(root, 'cpu', 'docker', 'tenantlab-p1')), false);
    assert.equal(existsSync(join(root, 'pids', 'docker', 'tenantlab-p1')), false);
    assert.equal(existsSync(join(root, 'memory', 'docker', 'tenantlab-p1', 'tenant-a')), false);
    assert.equal(existsSync(join(root, 'memory', 'docker', 'tenantlab-p1', 'tenant-b', 'container')), true);
    assert.equal(existsSync(join(root, 'cpu', 'docker', 'tenantlab-other', 'tenant-a')), true, "another lab's kept");
  });
});
