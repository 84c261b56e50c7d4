import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { suiteRedis } from '@tenantlab/lab';
import { PORT_KEYS, SWITCH_CONSUMER_GROUP } from '@tenantlab/shared';
import { PortDirectory } from './port-directory';

/**
 * What the switch does, on a real Redis, when an attached port's read finds no consumer group: the group is made
 * again on a stream that is there, and nothing is made where the stream is gone (a deleted VM's keys stay deleted).
 */
describe('PortDirectory.restoreGroup on a real Redis', () => {
  const suite = suiteRedis();

  function directory(): { ports: PortDirectory; made: string[] } {
    const made: string[] = [];
    return { ports: new PortDirectory(suite.admin, (vm) => made.push(vm)), made };
  }

  it('leaves a deleted stream deleted and starts no new generation for it', async () => {
    const vm = `vm-${randomBytes(3).toString('hex')}`;
    const { ports, made } = directory();
    assert.equal(await ports.restoreGroup(vm), 'stream-gone');
    assert.equal(await suite.admin.exists(PORT_KEYS.tx(vm)), 0, 'no tx stream made for a VM whose keys are gone');
    assert.deepEqual(made, []);
  });

  it('makes the group again on a stream written after its group was lost, as a new generation', async () => {
    const vm = `vm-${randomBytes(3).toString('hex')}`;
    await suite.admin.xadd(PORT_KEYS.tx(vm), '*', 'frame', 'x');
    const { ports, made } = directory();
    assert.equal(await ports.restoreGroup(vm), 'made');
    const groups = (await suite.admin.xinfo('GROUPS', PORT_KEYS.tx(vm))) as unknown[][];
    assert.equal(groups[0]?.[1], SWITCH_CONSUMER_GROUP);
    assert.deepEqual(made, [vm]);
    assert.equal(await ports.restoreGroup(vm), 'present', 'made once');
    assert.deepEqual(made, [vm]);
  });

  it('throws what Redis said when the key is not a stream', async () => {
    const vm = `vm-${randomBytes(3).toString('hex')}`;
    await suite.admin.set(PORT_KEYS.tx(vm), 'not a stream');
    await assert.rejects(directory().ports.restoreGroup(vm), /WRONGTYPE|not a stream|key/i);
  });
});
