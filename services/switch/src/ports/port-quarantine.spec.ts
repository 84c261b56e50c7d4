import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SwitchPort } from '../pipeline/switch-port';
import { PortQuarantine } from './port-quarantine';

const port = (no: number, vm: string): SwitchPort => ({ no, vm, tenant: 'tenant-a', vlan: 10 });

describe('PortQuarantine', () => {
  it('waits 1 s before the first retry, doubling per fault of the same VM up to 30 s, and shows why and since when', () => {
    let now = 1_000_000;
    const quarantine = new PortQuarantine(() => now);
    const bad = port(3, 'vm-bad');
    const waits: number[] = [];
    for (let fault = 0; fault < 8; fault++) {
      quarantine.add(bad, `fault ${fault}`);
      const shown = quarantine.snapshot([bad]).quarantined['vm-bad'];
      assert.ok(shown);
      waits.push(shown.retryInMs);
      assert.equal(quarantine.readable(bad), false, 'not read before its retry is due');
      now += shown.retryInMs;
      assert.equal(quarantine.readable(bad), true, 'read again once the retry is due');
      assert.equal(quarantine.has(bad), true, 'still held (its frames go nowhere) until a clean read releases it');
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    const shown = quarantine.snapshot([bad]);
    assert.equal(shown.faults['vm-bad'], 8);
    assert.equal(shown.quarantined['vm-bad']?.reason, 'fault 7');
    assert.equal(shown.quarantined['vm-bad']?.sinceMs, 1000 + 2000 + 4000 + 8000 + 16_000 + 30_000 * 3);
  });

  it('holds only the faulty port; a release frees it and keeps its fault count', () => {
    const quarantine = new PortQuarantine(() => 0);
    const bad = port(1, 'vm-bad');
    const good = port(2, 'vm-good');
    quarantine.add(bad, 'WRONGTYPE');
    assert.equal(quarantine.readable(good), true);
    assert.equal(quarantine.has(good), false);
    quarantine.release(bad);
    assert.equal(quarantine.has(bad), false);
    assert.equal(quarantine.readable(bad), true);
    assert.deepEqual(quarantine.snapshot([bad, good]), { faults: { 'vm-bad': 1 }, quarantined: {} });
  });
});
