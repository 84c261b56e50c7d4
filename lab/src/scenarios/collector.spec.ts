import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CounterCollector, probeTimeoutFor } from './collector';

/** A stand-in for one VM and the switch over HTTP, answering whatever the test sets (down: connection refused). */
describe('CounterCollector', () => {
  let server: Server;
  let url: string;
  const now = {
    vm: { sent: 0, received: 0, lost: 0 },
    switch: { batches: 0, drops: 0, waitingForCpu: {} as Record<string, number> },
    switchUp: true,
    /** The switch takes the request and never answers (a dead container's port behind Docker's proxy). */
    switchHangs: false,
    authorization: '',
  };

  before(async () => {
    server = createServer((request, response) => {
      const send = (status: number, body: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (request.url === '/vnic') {
        return send(200, {
          sent: { frames: now.vm.sent, unknownOutcome: 0 },
          received: { frames: now.vm.received },
          lostInStore: { ledgers: 0, tx: now.vm.lost, rx: 0, unknownOutcome: { tx: 0, atSwitch: 0, rx: 0 } },
        });
      }
      if (request.url === '/traffic/received') return send(200, { bySource: { x: { duplicates: 0 } } });
      if (request.url === '/vms') {
        // The registry answers only a trusted caller, as the operator does.
        if (request.headers.authorization !== 'Bearer x') return send(401, {});
        return send(200, { vms: [{ alive: true }, { alive: false }] });
      }
      now.authorization = request.headers.authorization ?? '';
      if (now.switchHangs) return;
      if (!now.switchUp) return send(503, {});
      return send(200, {
        batches: now.switch.batches,
        counters: { ports: { 'vm-a1': { rxFrames: 0, txFrames: 0, drops: { 'no-port': now.switch.drops } } } },
        waitingForCpu: now.switch.waitingForCpu,
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    return new Promise<void>((done) => server.close(() => done()));
  });

  it('keeps counts across a restarted switch and VM, and carries the last counts while the switch is down', async () => {
    let t = 0;
    const collector = new CounterCollector({ 'vm-a1': url }, url, { authorization: 'Bearer x' }, () => (t += 100), url);
    Object.assign(now.vm, { sent: 100, received: 90, lost: 0 });
    Object.assign(now.switch, { batches: 50, drops: 10, waitingForCpu: { 'tenant-a': 3, 'tenant-b': 4 } });
    const first = await collector.sampleNow();
    assert.equal(now.authorization, 'Bearer x');
    assert.equal(first.switch.drops, 10);
    assert.equal(first.switch.waitingForCpu, 7, "every tenant's frames waiting for CPU");
    assert.equal(first.vmsRegistered, 1, 'the VMs alive at the operator');

    now.switchUp = false;
    const down = await collector.sampleNow();
    assert.equal(down.switchUp, false);
    assert.equal(down.switch.drops, 10);

    // The switch came back with its counters from zero, the VM too (it was restarted): nothing counted is forgotten.
    now.switchUp = true;
    Object.assign(now.switch, { batches: 3, drops: 2, waitingForCpu: { 'tenant-a': 1 } });
    Object.assign(now.vm, { sent: 5, received: 4, lost: 1 });
    const again = await collector.sampleNow();
    assert.equal(again.switch.drops, 12);
    assert.equal(again.switch.waitingForCpu, 1, 'what waits now, not added to what waited before');
    assert.equal(again.switch.dropsByReason['no-port'], 12);
    assert.deepEqual(
      [again.vms['vm-a1']?.sent, again.vms['vm-a1']?.received, again.vms['vm-a1']?.lostInStore],
      [105, 94, 1],
    );
    assert.equal(collector.samples.length, 3);
    assert.deepEqual(
      collector.samples.map((s) => s.tMs),
      [100, 200, 300],
    );
  });

  it('waits for a switch that does not answer only its probe timeout, under the poll interval, and counts the VMs', async () => {
    assert.equal(probeTimeoutFor(500), 400);
    assert.equal(probeTimeoutFor(10_000), 2000, 'never more than 2 s');
    assert.equal(probeTimeoutFor(100), 200, 'never less than 200 ms');
    const collector = new CounterCollector({ 'vm-a1': url }, url, {}, () => 0, undefined, probeTimeoutFor(500));
    Object.assign(now.vm, { sent: 300, received: 280, lost: 0 });
    now.switchHangs = true;
    try {
      const started = performance.now();
      const sample = await collector.sampleNow();
      const tookMs = performance.now() - started;
      assert.equal(sample.switchUp, false);
      assert.equal(sample.vms['vm-a1']?.received, 280, "the VM's counts of this sample");
      // 2 s, the old timeout, would fail this; 400 ms and the VM's answer fit well under 1.5 s on a busy machine.
      assert.ok(tookMs < 1500, `a sample took ${tookMs} ms with the switch hanging: about the 400 ms probe timeout`);
    } finally {
      now.switchHangs = false;
      server.closeAllConnections();
    }
  });
});
