import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeVmMemory, readVmMemory, vmMemoryOf } from './vm-memory';

const MIB = 1024 * 1024;

describe('memory per tenant VM (scenario report)', () => {
  it('gives the spread across VMs in MiB: nearest-rank p10, p50, p90, the largest and the sum', () => {
    const memory = vmMemoryOf([100, 90, 95, 91, 92, 93, 94, 96, 97, 98].map((mib) => mib * MIB));
    assert.deepEqual(memory, { vms: 10, p10MiB: 90, p50MiB: 94, p90MiB: 98, maxMiB: 100, totalMiB: 946 });
    assert.equal(
      describeVmMemory('lab up, idle', memory),
      'memory per VM (lab up, idle): p50 94 MiB (p10 90, p90 98, max 100), 946 MiB for 10 VMs',
    );
    assert.equal(vmMemoryOf([]), undefined);
  });

  it("reads each running VM's resident memory in local mode, and leaves out VMs that are not running", async () => {
    const bytes = await readVmMemory({
      profile: 'unit',
      runnerPid: process.pid,
      portOffset: 0,
      startedAt: new Date().toISOString(),
      components: [
        { name: 'operator', kind: 'service', url: 'http://127.0.0.1:3000', pid: process.pid },
        { name: 'vm-a1', kind: 'vm', url: 'http://127.0.0.1:3101', pid: process.pid },
        { name: 'vm-a2', kind: 'vm', url: 'http://127.0.0.1:3102', pid: 2 ** 22 + 1 },
      ],
    });
    assert.equal(bytes.length, 1, 'only the one VM that runs (services are not VMs)');
    const rss = process.memoryUsage().rss;
    assert.ok(Math.abs((bytes[0] ?? 0) - rss) < 64 * MIB, `${bytes[0]} bytes read, this process holds ${rss}`);
  });
});
