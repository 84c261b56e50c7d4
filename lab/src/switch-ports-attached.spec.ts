import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AttachedPortsProbe, waitUntilPortsAttached } from './switch-ports-attached';

/** A switch whose answers are given in turn (the last one repeats); counts how often it was asked. */
function switchAnswering(...answers: Awaited<ReturnType<AttachedPortsProbe>>[]) {
  let asked = 0;
  const probe: AttachedPortsProbe = async () => answers[Math.min(asked++, answers.length - 1)];
  return { probe, asked: () => asked };
}

describe('waitUntilPortsAttached', () => {
  it('returns once every VM is listed, asking again until then', async () => {
    const sw = switchAnswering(
      { vms: [] },
      { error: 'connection refused' },
      { vms: ['vm-a1'] },
      {
        vms: ['vm-a1', 'vm-b1'],
      },
    );
    await waitUntilPortsAttached(sw.probe, ['vm-a1', 'vm-b1'], 5000, 1);
    assert.equal(sw.asked(), 4);
  });

  it('names the VMs still missing when time runs out', async () => {
    const sw = switchAnswering({ vms: ['vm-a1'] });
    await assert.rejects(
      waitUntilPortsAttached(sw.probe, ['vm-a1', 'vm-b1', 'vm-b2'], 20, 1),
      /had not attached the ports of vm-b1, vm-b2 within 0.02 s$/,
    );
  });

  it('says why the switch could not be asked, and counts every VM missing', async () => {
    const sw = switchAnswering({ error: 'GET /dataplane answered 403' });
    await assert.rejects(
      waitUntilPortsAttached(sw.probe, ['vm-a1'], 20, 1),
      /ports of vm-a1 within 0.02 s \(GET \/dataplane answered 403\)/,
    );
  });
});
