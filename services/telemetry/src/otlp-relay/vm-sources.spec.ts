import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainAddress, VmSources } from './vm-sources';

const VMS = [
  { vm: 'vm-a1', tenant: 'tenant-a' },
  { vm: 'vm-b1', tenant: 'tenant-b' },
];

describe('VmSources', () => {
  it('names the VM behind an address, re-resolving when a container got a new one', async () => {
    let now = 0;
    const addresses: Record<string, string[]> = { 'vm-a1': ['172.20.0.5'], 'vm-b1': ['172.20.0.6'] };
    let lookups = 0;
    const sources = new VmSources(
      VMS,
      1000,
      async (name) => {
        lookups++;
        return addresses[name] ?? [];
      },
      () => now,
    );
    assert.deepEqual(await sources.identifyAddress('::ffff:172.20.0.5'), VMS[0]);
    assert.deepEqual(await sources.identifyAddress('172.20.0.6'), VMS[1]);
    assert.equal(lookups, 2, 'one resolution of every name');
    addresses['vm-a1'] = ['172.20.0.9'];
    now += 1000;
    assert.deepEqual(await sources.identifyAddress('172.20.0.9'), VMS[0]);
    assert.equal(await sources.identifyAddress('172.20.0.5'), undefined, 'the old address is no one now');
  });

  it('refuses an address no VM has, resolving at most once per interval however often it is asked', async () => {
    let lookups = 0;
    const sources = new VmSources(
      VMS,
      1000,
      async () => {
        lookups++;
        throw new Error('ENOTFOUND');
      },
      () => 0,
    );
    for (let i = 0; i < 20; i++) assert.equal(await sources.identifyAddress('10.0.0.1'), undefined);
    assert.equal(lookups, VMS.length);
  });

  it('reads an IPv4-mapped address as IPv4', () => {
    assert.equal(plainAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(plainAddress('fd00::1'), 'fd00::1');
  });
});
