import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { PcapRecord } from '@tenantlab/shared';
import type { Workload } from './scenario';
import type { ScenarioContext } from './scenario-context';
import type { PlannedWorkload } from './scenario-plan';
import { newStats, runWorkload, type WorkloadStats } from './workload-drivers';

interface Call {
  path: string;
  atMs: number;
  /** The driver's last reading of the run's clock before the call arrived: when it built the request. */
  builtAtMs: number;
  body: Record<string, unknown>;
}

/** A stand-in VM: answers the workload routes as a VM does, and records each call with the run's time. */
describe('workload drivers (README: traffic size default 256, transfer and ping every 1000 ms by default)', () => {
  let server: Server;
  let url: string;
  let started = 0;
  const calls: Call[] = [];
  const now = (): number => Date.now() - started;
  let driverNowMs = 0;
  /** The run's clock as the driver reads it, remembered, so that a call's build time is known however long it travels. */
  const driverNow = (): number => (driverNowMs = now());

  before(async () => {
    server = createServer((request, response) => {
      const builtAtMs = driverNowMs;
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        calls.push({ path: `${request.method ?? ''} ${request.url ?? ''}`, atMs: now(), builtAtMs, body });
        const answer =
          request.url === '/traffic/generate'
            ? { sent: body['count'], packetsPerSecond: 100 }
            : request.url === '/workloads/send'
              ? { verified: true, messagesPerSecond: 10 }
              : request.url === '/traffic/replay'
                ? { sent: (body['frames'] as unknown[]).length, maxLateUs: 0 }
                : request.url === '/traffic/received'
                  ? { total: 4242 }
                  : { count: body['count'], oneWayP50Us: 100, oneWayP99Us: 200 };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    return new Promise<void>((done) => server.close(() => done()));
  });

  function run(
    workload: Workload,
    stopMs: number,
    pcaps = new Map<string, { records: PcapRecord[] }>(),
    stats?: WorkloadStats,
    onPhases: [number, number][] = [[0, stopMs]],
  ): Promise<void> {
    const context = {
      state: {
        components: [
          { name: 'vm-a1', kind: 'vm', url, pid: 1 },
          { name: 'vm-a2', kind: 'vm', url, pid: 2 },
        ],
      },
      pcaps,
      now: driverNow,
      signal: new AbortController().signal,
    } as unknown as ScenarioContext;
    const planned: PlannedWorkload = { index: 0, workload, startMs: 0, stopMs, onPhases, seed: 7 };
    return runWorkload(planned, context, stats ?? newStats(planned));
  }

  it('sends traffic of 256-byte frames when the workload names no size', async () => {
    calls.length = 0;
    started = Date.now();
    await run({ kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 100 }, 200);
    assert.ok(calls.length >= 1, 'the VM was asked for traffic');
    for (const call of calls) {
      assert.equal(call.path, 'POST /traffic/generate');
      assert.equal(call.body['size'], 256);
    }
  });

  it('asks for traffic once per second of the run at a rate of 1 frame/s, not once per round trip', async () => {
    calls.length = 0;
    started = Date.now();
    // Stopped at 2.5 s, halfway between the third run and a fourth: a machine that stalls the driver for a few hundred
    // ms still makes three runs.
    await run({ kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 1 }, 2500);
    const runs = calls.filter((call) => call.path === 'POST /traffic/generate');
    const times = runs.map((call) => call.atMs);
    assert.equal(
      runs.length,
      3,
      `runs at 0, 1000 and 2000 ms, not ${runs.length} from ${times.slice(0, 6).join(', ')}`,
    );
    assert.deepEqual(
      runs.map((call) => call.body['count']),
      [1, 1, 1],
    );
  });

  it("asks in each on phase for the frames its rate makes due there, frame i at i / rate after the phase's start", async () => {
    calls.length = 0;
    started = Date.now();
    // 3 frames/s: 1.5 s on (frames at 0, 333, 667, 1000, 1333 ms: runs of 3 and 2), 0.2 s off, 0.4 s on (0, 333 ms:
    // two frames, where rounding 1.2 frames down would ask for one).
    const phases: [number, number][] = [
      [0, 1500],
      [1700, 2100],
    ];
    await run({ kind: 'traffic', from: 'vm-a1', to: ['vm-a2'], ratePps: 3 }, 2100, undefined, undefined, phases);
    const runs = calls.filter((call) => call.path === 'POST /traffic/generate');
    assert.deepEqual(
      runs.map((call) => call.body['count']),
      [3, 2, 2],
    );
    assert.ok(runs[2].atMs >= 1700, `the second phase's run waits for its start (${runs[2].atMs} ms)`);
  });

  it('runs a transfer and a ping every 1000 ms when the workload names no everyMs', async () => {
    calls.length = 0;
    started = Date.now();
    await Promise.all([
      run({ kind: 'transfer', from: 'vm-a1', target: 'vm-a2/echo', count: 10, size: 100 }, 2500),
      run({ kind: 'ping', from: 'vm-a1', target: 'vm-a2/echo' }, 2500),
    ]);
    for (const path of ['POST /workloads/send', 'POST /workloads/ping']) {
      const times = calls.filter((call) => call.path === path).map((call) => call.atMs);
      assert.equal(times.length, 3, `${path} at 0, 1000 and 2000 ms: ${times.join(', ')}`);
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
        // As the stand-in got them: a request that took a while to arrive (44 ms has been seen on a loaded machine)
        // shortens the gap after it. Runs back to back, or every 2 s, fall well outside.
        assert.ok(gap >= 900 && gap <= 1500, `${path}: ${gap} ms between runs`);
      }
    }
  });

  it('replays a capture in request-sized batches, in order, each timed against the replay start, loop after loop', async () => {
    calls.length = 0;
    // 1100 frames 1 ms apart (three requests per loop: 512, 512, 76), twice at speed 2: 1.1 s in all.
    const records: PcapRecord[] = Array.from({ length: 1100 }, (_, i) => ({
      offsetNs: i * 1e6,
      bytes: Buffer.alloc(64, i & 0xff),
      originalLength: 64,
    }));
    const workload: Workload = { kind: 'replay', from: 'vm-a1', to: 'vm-a2', pcap: 'x.pcap', speed: 2, loops: 2 };
    const planned = { index: 0, workload, startMs: 0, stopMs: 60_000, onPhases: [], seed: 7 };
    const stats = newStats(planned);
    started = Date.now();
    await run(workload, 60_000, new Map([['x.pcap', { records }]]), stats);

    const replays = calls.filter((call) => call.path === 'POST /traffic/replay');
    assert.deepEqual(
      replays.map((call) => (call.body['frames'] as unknown[]).length),
      [512, 512, 76, 512, 512, 76],
    );
    assert.equal(stats.units, 2200, 'frames sent, as the VM answered');
    assert.deepEqual(
      stats.points.slice(0, 6).map((point) => [point['sent'], point['maxLateUs']]),
      [512, 512, 76, 512, 512, 76].map((sent) => [sent, 0]),
      'per request: frames sent and the worst lateness, as the VM answered',
    );
    // The period is the last offset (1099 ms) and one mean gap (1 ms): loop 2 starts 1100 recorded ms in.
    const firstOffsetsMs = [0, 512, 1024, 1100, 1612, 2124];
    replays.forEach((call, i) => {
      assert.equal(call.body['to'], 'vm-a2');
      assert.equal(call.body['speed'], 2);
      const frames = call.body['frames'] as { atUs: number; data: string }[];
      assert.equal(Buffer.from(frames[0].data, 'base64').length, 64);
      // When the request says its first frame is due, in real ms since the start, against when it should be: its offsets
      // count from when the driver built it (how long the request then took to arrive is the VM's to make up).
      const dueMs = call.builtAtMs + frames[0].atUs / 2 / 1000;
      const expected = firstOffsetsMs[i] / 2;
      assert.ok(Math.abs(dueMs - expected) < 40, `request ${i}: first frame due at ${dueMs} ms, not ${expected}`);
      // Within a request, offsets keep the recorded gaps (1 ms) in recorded µs (bar the first few, already due).
      assert.equal(frames.at(-1)!.atUs - frames.at(-2)!.atUs, 1000);
    });
    const received = calls.filter((call) => call.path === 'GET /traffic/received');
    assert.equal(received.length, 1, "the receiver's count is read once the replay ends");
    assert.equal(stats.points.at(-1)?.['toReceivedTotal'], 4242);
  });

  it('stops a replay at the workload stop: frames due after it are not posted', async () => {
    calls.length = 0;
    const records: PcapRecord[] = Array.from({ length: 10 }, (_, i) => ({
      offsetNs: i * 100e6,
      // One frame over the vNIC's largest: never posted, counted.
      bytes: Buffer.alloc(i === 2 ? 9217 : 64),
      originalLength: 64,
    }));
    const workload: Workload = { kind: 'replay', from: 'vm-a1', pcap: 'y.pcap' };
    const stats = newStats({ index: 0, workload, startMs: 0, stopMs: 450, onPhases: [], seed: 7 });
    started = Date.now();
    await run(workload, 450, new Map([['y.pcap', { records }]]), stats);
    assert.equal(stats.points.at(-1)?.['skippedTooLarge'], 1);
    const replays = calls.filter((call) => call.path === 'POST /traffic/replay');
    assert.deepEqual(
      replays.map((call) => (call.body['frames'] as unknown[]).length),
      [4],
      'frames at 0-400 ms of a 450 ms run, but the one too large',
    );
    assert.equal(replays[0].body['to'], undefined, 'no to: recorded destinations kept');
    assert.equal(calls.filter((call) => call.path === 'GET /traffic/received').length, 0);
  });
});
