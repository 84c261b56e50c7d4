import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { ConflictError, createValidationPipe, ValidationError, vmMacAddress } from '@tenantlab/shared';
import type { TenantVmConfig } from '../config/tenant-vm.config';
import type { VnicService } from '../vnic/vnic.service';
import { ReplayFramesDto } from './dto/replay-frames.dto';
import { SendAbortedError } from '../vnic/vnic.errors';
import { FrameReplayer, MAX_REPLAY_BYTES } from './frame-replayer';
import { TrafficController } from './traffic.controller';
import { TrafficService } from './traffic.service';

interface Send {
  atMs: number;
  frames: Buffer[];
}

/** The real controller and service over a vNIC stand-in that takes every frame and notes when each send came. */
function replayingVm(): { controller: TrafficController; sends: Send[]; started: number } {
  const sends: Send[] = [];
  const started = performance.now();
  const vnic = {
    send: (frames: readonly Buffer[]) => {
      sends.push({ atMs: performance.now() - started, frames: [...frames] });
      return Promise.resolve();
    },
    onFrames: () => () => undefined,
  } as unknown as VnicService;
  const service = new TrafficService({ VM_ID: 'vm-a1' } as TenantVmConfig, vnic);
  return { controller: new TrafficController(service), sends, started };
}

/** A body through the same pipe as the HTTP API, as `POST /traffic/replay` receives it. */
async function body(raw: object): Promise<ReplayFramesDto> {
  return (await createValidationPipe().transform(raw, { type: 'body', metatype: ReplayFramesDto })) as ReplayFramesDto;
}

/** The problems the pipe names for a body it refuses (none if it takes it). */
async function problems(raw: unknown): Promise<string[]> {
  try {
    await body(raw as object);
    return [];
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.details;
  }
}

const SPOOFED_SRC = '02:aa:bb:cc:dd:ee';
const RECORDED_DST = 'ff:ff:ff:ff:ff:ff';

/** A recorded frame of `length` bytes: broadcast, from a MAC that is not the replaying VM's, filled with `fill`. */
function recorded(length: number, fill = 0x5a): string {
  const frame = Buffer.alloc(length, fill);
  Buffer.from(RECORDED_DST.replace(/:/g, ''), 'hex').copy(frame, 0);
  if (length >= 12) Buffer.from(SPOOFED_SRC.replace(/:/g, ''), 'hex').copy(frame, 6);
  return frame.toString('base64');
}

const macOf = (frame: Buffer, at: number): string =>
  [...frame.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');

describe('POST /traffic/replay', () => {
  it('validates the body: frames 1-512 of atUs and base64 data, to a VM id or MAC, speed in (0, 1000]', async () => {
    assert.deepEqual(await problems({ frames: [{ atUs: 0, data: recorded(60) }] }), []);
    assert.deepEqual(
      await problems({ frames: [{ atUs: 5, data: recorded(60) }], to: '02:00:00:00:00:0A', speed: 1000 }),
      [],
    );
    const found = await problems({
      frames: [{ atUs: -1, data: 'not base64!' }],
      to: 'Not An Id',
      speed: 0,
      extra: 1,
    });
    for (const field of ['frames.0.atUs', 'frames.0.data', 'to', 'speed', 'extra']) {
      assert.ok(
        found.some((p) => p.startsWith(`${field}: `)),
        `${field} named in ${found.join('; ')}`,
      );
    }
    assert.ok((await problems({ frames: [] })).some((p) => p.startsWith('frames: ')));
    const tooMany = Array.from({ length: 513 }, () => ({ atUs: 0, data: recorded(14) }));
    assert.ok((await problems({ frames: tooMany })).some((p) => p.startsWith('frames: ')));
    assert.ok(
      (await problems({ frames: [{ atUs: 0, data: recorded(60) }], speed: 1001 })).some((p) => p.startsWith('speed: ')),
    );
  });

  it('refuses frames under 14 bytes or over 9216 with a 400 naming each by index, and sends nothing', async () => {
    const { controller, sends } = replayingVm();
    const request = await body({
      frames: [
        { atUs: 0, data: recorded(60) },
        { atUs: 0, data: recorded(13) },
        { atUs: 0, data: recorded(9216) },
        { atUs: 0, data: recorded(9217) },
      ],
    });
    await assert.rejects(controller.replay(request), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(
        error.details.map((d) => d.split(':')[0]),
        ['frames[1]', 'frames[3]'],
      );
      assert.match(error.details[0] ?? '', /13 bytes is under an Ethernet header/);
      assert.match(error.details[1] ?? '', /9217 bytes is over the vNIC's largest frame \(9216\)/);
      return true;
    });
    assert.equal(sends.length, 0, 'nothing was sent');
  });

  it(`refuses a request over ${MAX_REPLAY_BYTES} bytes in all, and one due past the time limit`, async () => {
    const { controller, sends } = replayingVm();
    const big = Array.from({ length: 15 }, () => ({ atUs: 0, data: recorded(9000) }));
    await assert.rejects(controller.replay(await body({ frames: big })), /bytes in all is over a request's 131072/);
    const late = [{ atUs: 61_000_000, data: recorded(60) }];
    await assert.rejects(controller.replay(await body({ frames: late })), /frames\[0\]\.atUs: due 61000 ms/);
    // At speed 2 the same offset is due after 30.5 s: within the limit, so not refused (not run here either).
    assert.equal(sends.length, 0);
  });

  it("always writes the VM's own source MAC; the destination only when `to` names one", async () => {
    for (const [to, expected] of [
      [undefined, RECORDED_DST],
      ['vm-a2', vmMacAddress('vm-a2')],
      ['02:00:00:00:00:99', '02:00:00:00:00:99'],
    ] as const) {
      const { controller, sends } = replayingVm();
      const report = await controller.replay(
        await body({ frames: [{ atUs: 0, data: recorded(64, 0x11) }], ...(to ? { to } : {}) }),
      );
      assert.equal(report.sent, 1);
      assert.equal(report.notSent, 0);
      const frame = sends[0]?.frames[0];
      assert.ok(frame);
      assert.equal(macOf(frame, 6), vmMacAddress('vm-a1'), 'source rewritten, never the recorded one');
      assert.equal(macOf(frame, 0), expected, `destination with to=${to ?? '(none)'}`);
      assert.deepEqual(frame.subarray(12), Buffer.alloc(52, 0x11), 'the rest as recorded');
    }
  });

  it('paces frames at their offsets over the speed, from the start of the request', async () => {
    const { controller, sends, started } = replayingVm();
    const request = await body({
      frames: [0, 0, 100_000, 200_000].map((atUs) => ({ atUs, data: recorded(60) })),
      speed: 2,
    });
    // Due times count from the request's start, not from the first send (which may itself go out a ms or two late):
    // measured from the first send, a late first send made the second look early (48.9 ms in one CI run).
    const calledAt = performance.now() - started;
    const report = await controller.replay(request);
    assert.equal(report.sent, 4);
    // The two frames due at 0 go in one send; then one at 50 ms and one at 100 ms (speed 2).
    assert.deepEqual(
      sends.map((s) => s.frames.length),
      [2, 1, 1],
    );
    // Never early on the clock (a timer may fire a ms or two before its time: the replayer sleeps again), and paced at
    // the speed: ignoring it would send at 100 and 200 ms. How late a timer fires is the machine's (a loaded host's
    // work has run 44 ms late in CI), so the upper bounds are where a replay that ignored the speed would send.
    const [first, second, third] = sends.map((s) => s.atMs - calledAt);
    assert.ok(first < 50, `first send ${first} ms after the request`);
    assert.ok(second >= 50 && second < 100, `second send ${second} ms after the request`);
    assert.ok(third >= 100 && third < 200, `third send ${third} ms after the request`);
    assert.ok(report.durationMs >= 99, `duration ${report.durationMs} ms`);
  });

  it('refuses a second replay on the VM while one runs (409), and takes the next once it answered', async () => {
    const { controller } = replayingVm();
    const frames = [
      { atUs: 0, data: recorded(60) },
      { atUs: 100_000, data: recorded(60) },
    ];
    const first = controller.replay(await body({ frames }));
    await assert.rejects(controller.replay(await body({ frames })), ConflictError);
    assert.equal((await first).sent, 2);
    assert.equal((await controller.replay(await body({ frames: frames.slice(0, 1) }))).sent, 1);
  });

  it('lets a traffic run go on beside a replay', async () => {
    const { controller } = replayingVm();
    const frames = [
      { atUs: 0, data: recorded(60) },
      { atUs: 100_000, data: recorded(60) },
    ];
    const replaying = controller.replay(await body({ frames }));
    const generated = await controller.generate({ to: ['vm-a2'], protocol: 'udp', count: 10, size: 64 });
    assert.equal(generated.sent, 10);
    assert.equal((await replaying).sent, 2);
  });

  it('answers with what it sent when tx stays full until the time limit: notSent and stopped', async () => {
    const sends: number[] = [];
    // A vNIC whose tx is full: the second send waits for room until the time limit aborts it, having written 1 of 2.
    const replayer = new FrameReplayer((frames, { signal }) => {
      sends.push(frames.length);
      if (sends.length === 1) return Promise.resolve();
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new SendAbortedError(1, 2))));
    }, 200);
    const mac = Buffer.alloc(6, 2);
    const frame = (atUs: number): { atUs: number; bytes: Buffer } => ({ atUs, bytes: Buffer.alloc(60) });
    const report = await replayer.run({ frames: [frame(0), frame(10_000), frame(10_000)], sourceMac: mac, speed: 1 });
    assert.deepEqual(sends, [1, 2]);
    assert.equal(report.sent, 2);
    assert.equal(report.notSent, 1);
    assert.match(report.stopped ?? '', /time limit/);
  });
});
