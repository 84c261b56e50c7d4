import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PORT_KEYS, PORT_LEDGER_FIELD, parsePortLedger, type PortLedger } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { compareStreamIds, StoreLedger } from './store-ledger';

/** Collects what flush writes; the real XADD is covered by store-ledger.int.spec.ts. */
function recorder(): { redis: Redis; written: [string, PortLedger][] } {
  const written: [string, PortLedger][] = [];
  const redis = {
    xadd: (key: string, _id: string, field: string, value: string) => {
      assert.equal(field, PORT_LEDGER_FIELD);
      written.push([key, parsePortLedger(value)!]);
      return Promise.resolve('1-0');
    },
  } as unknown as Redis;
  return { redis, written };
}

describe('StoreLedger', () => {
  it('writes no entry for a port it sees made for the first time', async () => {
    const ledger = new StoreLedger();
    ledger.txRecreated('vm-1');
    assert.equal(ledger.pending(), false);
    const { redis, written } = recorder();
    await ledger.flush(redis);
    assert.deepEqual(written, []);
  });

  it('ends every generation when the store is lost, whether or not the switch makes the tx group again', async () => {
    const ledger = new StoreLedger();
    for (const vm of ['vm-1', 'vm-2']) ledger.txRecreated(vm);
    ledger.read('vm-1', '5-0');
    ledger.read('vm-1', '5-1');
    ledger.settled('vm-1', ['5-0']);
    ledger.delivered('vm-2', 1);
    ledger.storeLost(['vm-1', 'vm-2']);
    // The switch makes vm-1's group (it got NOGROUP); the operator made vm-2's (BUSYGROUP: no call). One end each.
    ledger.txRecreated('vm-1');
    ledger.settled('vm-1', ['5-1']); // the lost store's commit answered late
    const { redis, written } = recorder();
    // Held until each port is attached again in the new store (the operator re-creates a VM's rx at registration).
    const epoch = ledger.scanEpoch();
    assert.equal(ledger.pending(), false);
    await ledger.flush(redis);
    assert.deepEqual(written, []);
    ledger.attached(['vm-1', 'vm-2'], epoch - 1); // a scan begun before the loss says nothing of the new store
    assert.equal(ledger.pending(), false);
    ledger.attached(['vm-1', 'vm-2'], epoch);
    assert.equal(ledger.pending(), true);
    await ledger.flush(redis);
    assert.deepEqual(written, [
      [PORT_KEYS.rx('vm-1'), { generation: 1, consumed: 2, unsettled: 0, delivered: 0, inDoubt: 0 }],
      [PORT_KEYS.rx('vm-2'), { generation: 1, consumed: 0, unsettled: 0, delivered: 1, inDoubt: 0 }],
    ]);
  });

  it('closes a generation: distinct reads, settled and delivered frames go into the entry, then start again', async () => {
    const ledger = new StoreLedger();
    ledger.txRecreated('vm-1');
    for (const id of ['5-0', '5-1', '6-0']) ledger.read('vm-1', id);
    ledger.read('vm-1', '5-1'); // read again after a failed commit: counted once
    ledger.settled('vm-1', ['5-0', '5-1']);
    ledger.delivered('vm-1', 4);
    ledger.inDoubt('vm-1', 2);
    ledger.txRecreated('vm-1');
    ledger.read('vm-1', '7-0'); // the new stream's first entry
    ledger.settled('vm-1', ['6-0']); // a commit that replied late settles an entry of the ended generation
    ledger.delivered('vm-1', 1); // before the entry is written: counted in it
    assert.equal(ledger.pending(), true);
    const { redis, written } = recorder();
    await ledger.flush(redis);
    assert.deepEqual(written, [
      [PORT_KEYS.rx('vm-1'), { generation: 1, consumed: 3, unsettled: 0, delivered: 5, inDoubt: 2 }],
    ]);
    assert.equal(ledger.pending(), false);
    assert.deepEqual((ledger.snapshot()['vm-1'] as Record<string, unknown>).consumed, 1);
    assert.deepEqual((ledger.snapshot()['vm-1'] as Record<string, unknown>).delivered, 0);
  });

  it('counts entries read but never committed as unsettled', async () => {
    const ledger = new StoreLedger();
    ledger.txRecreated('vm-1');
    for (const id of ['1-0', '2-0', '3-0']) ledger.read('vm-1', id);
    ledger.settled('vm-1', ['1-0']);
    ledger.txRecreated('vm-1');
    const { redis, written } = recorder();
    await ledger.flush(redis);
    assert.equal(written[0][1].consumed, 3);
    assert.equal(written[0][1].unsettled, 2);
  });

  it('settles an entry once when a commit that failed without a store loss is retried', async () => {
    // The data path settles a batch whose commit got no reply (dataplane.service.ts), then reads the entries the
    // commit did not acknowledge again and settles them once more when their retry commits. Counted twice, the
    // surplus would hide as many entries still unsettled when the store is lost later.
    const ledger = new StoreLedger();
    ledger.txRecreated('vm-1');
    for (const id of ['1-0', '2-0', '3-0']) ledger.read('vm-1', id);
    ledger.settled('vm-1', ['1-0', '2-0', '3-0']); // the commit without a reply
    for (const id of ['1-0', '2-0', '3-0']) ledger.read('vm-1', id); // read again: it had not applied
    ledger.settled('vm-1', ['1-0', '2-0', '3-0']); // the retry's commit
    for (const id of ['4-0', '5-0']) ledger.read('vm-1', id); // read, never committed: the store is lost
    assert.equal((ledger.snapshot()['vm-1'] as Record<string, unknown>).settled, 3);
    ledger.storeLost(['vm-1']);
    ledger.attached(['vm-1']);
    const { redis, written } = recorder();
    await ledger.flush(redis);
    assert.deepEqual(written, [
      [PORT_KEYS.rx('vm-1'), { generation: 1, consumed: 5, unsettled: 2, delivered: 0, inDoubt: 0 }],
    ]);
  });

  it('keeps the entry waiting when Redis does not take it', async () => {
    const ledger = new StoreLedger();
    ledger.txRecreated('vm-1');
    ledger.txRecreated('vm-1');
    const failing = { xadd: () => Promise.reject(new Error('down')) } as unknown as Redis;
    await assert.rejects(ledger.flush(failing), /down/);
    assert.equal(ledger.pending(), true);
  });

  it('orders stream ids by number, not as text', () => {
    assert.equal(compareStreamIds('10-0', '9-0'), 1);
    assert.equal(compareStreamIds('9-10', '9-9'), 1);
    assert.equal(compareStreamIds('9-9', '9-9'), 0);
    assert.equal(compareStreamIds('0-0', '1-0'), -1);
  });
});
