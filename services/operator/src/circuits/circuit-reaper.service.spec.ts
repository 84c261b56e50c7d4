import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonLogger } from '@tenantlab/shared';
import type { RegistryService } from '../registry/registry.service';
import type { VmView } from '../registry/vm-record';
import type { CircuitRecord } from './circuit-record';
import { CircuitReaperService } from './circuit-reaper.service';
import type { CircuitTeardownService } from './circuit-teardown.service';
import type { CircuitsRepository } from './circuits.repository';

const LEASE_MS = 15_000;

const circuit: CircuitRecord = {
  id: 'c1',
  mode: 'stream',
  service: 'echo',
  capacity: { entries: 1024, bytes: 1 << 20 },
  a: { vm: 'vm-a1', tenant: 'tenant-a' },
  b: { vm: 'vm-a2', tenant: 'tenant-a' },
  createdAt: 0,
  state: 'open',
};

function vm(id: string, alive: boolean): VmView {
  return { id, tenant: 'tenant-a', url: `http://${id}`, registeredAt: 0, lastHeartbeatAt: 0, alive };
}

/** A reaper whose circuits and VMs are the given ones (repositories stubbed); the decision is the real one. */
function reaperAt(clock: { now: number }, vms: VmView[]): { reaper: CircuitReaperService; ended: string[] } {
  const ended: string[] = [];
  const repository = { all: () => Promise.resolve([circuit]) } as unknown as CircuitsRepository;
  const registry = { list: () => Promise.resolve(vms) } as unknown as RegistryService;
  const teardowns = {
    teardown: (id: string, reason: string) => {
      ended.push(`${id}: ${reason}`);
      return Promise.resolve(true);
    },
  } as unknown as CircuitTeardownService;
  const config = { CIRCUIT_REAP_INTERVAL_MS: 1000, VM_LEASE_MS: LEASE_MS };
  const logger = { record: () => undefined } as unknown as JsonLogger;
  return { reaper: new CircuitReaperService(repository, registry, teardowns, config, () => clock.now, logger), ended };
}

describe('CircuitReaperService: which circuits a pass ends', () => {
  it('gives VMs one lease to reach a freshly started operator before judging them dead by their lease', async () => {
    // Both leases ran out while no operator ran (VMs heartbeat through the operator), as after a long restart.
    const clock = { now: 1_000_000 };
    const { reaper, ended } = reaperAt(clock, [vm('vm-a1', false), vm('vm-a2', false)]);
    assert.equal(await reaper.reapOnce(), 0, 'a lease that ran out during the outage ends nothing at once');
    clock.now += LEASE_MS - 1;
    assert.equal(await reaper.reapOnce(), 0);
    clock.now += 1;
    assert.equal(await reaper.reapOnce(), 1, 'a VM still silent a whole lease after the start is dead');
    assert.deepEqual(ended, ['c1: peer vm-a1 stopped heartbeating']);
  });

  it('ends a circuit whose peer was deregistered at once, even just after the operator started', async () => {
    const { reaper, ended } = reaperAt({ now: 5 }, [vm('vm-a1', true)]);
    assert.equal(await reaper.reapOnce(), 1);
    assert.deepEqual(ended, ['c1: peer vm-a2 was deregistered']);
  });

  it('keeps a circuit whose peers are both alive', async () => {
    const clock = { now: 0 };
    const { reaper, ended } = reaperAt(clock, [vm('vm-a1', true), vm('vm-a2', true)]);
    clock.now += 10 * LEASE_MS;
    assert.equal(await reaper.reapOnce(), 0);
    assert.deepEqual(ended, []);
  });
});
