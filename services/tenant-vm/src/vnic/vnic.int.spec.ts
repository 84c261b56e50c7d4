import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  type CircuitConnections,
  DependencyUnavailableError,
  MAX_FRAME_BYTES,
  mulberry32,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  packPortFrames,
  portEntryContent,
  vmAclRules,
  vmAclUser,
  vmCircuitConnections,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { newReceiverCounters, PortReceiver } from './port-receiver';
import { newSenderCounters, PortSender } from './port-sender';
import { FrameTooLargeError, SendAbortedError } from './vnic.errors';

/** Polls `probe` until it is true, or fails after `timeoutMs` naming `what`. */
async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Frames of random bytes and lengths from a fixed seed. */
function randomFrames(count: number, seed: number, minBytes = 60, maxBytes = 1514): Buffer[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const frame = Buffer.alloc(minBytes + Math.floor(random() * (maxBytes - minBytes + 1)));
    for (let i = 0; i < frame.length; i++) frame[i] = Math.floor(random() * 256);
    return frame;
  });
}

/**
 * Frames in a stream as the admin sees them, in order, either entry format (issue 11: an entry may carry many), each
 * with the traceparent it travels with and the field names of its entry.
 */
async function streamFrames(
  admin: Redis,
  key: string,
): Promise<{ frame: Buffer; traceparent: string | undefined; fields: string[] }[]> {
  const entries = await admin.xrangeBuffer(key, '-', '+');
  return entries.flatMap(([, flat]) => {
    const fields = flat.filter((_, i) => i % 2 === 0).map((field) => field.toString());
    const at = fields.indexOf('otel.traceparent');
    const entryTrace = at >= 0 ? flat[at * 2 + 1].toString() : undefined;
    return portEntryContent(flat).frames.map(({ frame, traceparent }) => ({
      frame,
      traceparent: traceparent ?? entryTrace,
      fields,
    }));
  });
}

/** Orders two stream ids (`ms-seq`): negative, 0 or positive. */
function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

/** The vNIC's sender and receiver on a real Redis, as a VM's own ACL user, the way the operator creates it. */
describe('the vNIC on a real Redis, as the VM user', () => {
  let redis: TestRedis;
  let admin: Redis;
  const opened: Redis[] = [];

  /** A fresh VM: its ACL user (inbox and port streams, no circuits) and connections as that user. */
  async function newVm(): Promise<{ id: string; password: string; connections: CircuitConnections }> {
    const id = `vm-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    await admin.call('ACL', 'SETUSER', vmAclUser(id), ...vmAclRules(id, { password }, []));
    const base = vmCircuitConnections(redis.anonymousUrl, { username: vmAclUser(id), password }, id);
    opened.push(base.commands);
    return {
      id,
      password,
      connections: {
        commands: base.commands,
        openBlocking: () => {
          const connection = base.openBlocking();
          opened.push(connection);
          return connection;
        },
      },
    };
  }

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url);
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    },
    { timeout: 120_000 },
  );

  after(async () => {
    propagation.disable();
    context.disable();
    for (const connection of opened) connection.disconnect();
    admin?.disconnect();
    await redis?.stop();
  });

  it('sends frames to tx in order, byte for byte, in batches, with the trace context of the send', async () => {
    const vm = await newVm();
    const counters = newSenderCounters();
    const sender = new PortSender(vm.connections.commands, vm.id, counters);
    const frames = [...randomFrames(999, 1), Buffer.alloc(MAX_FRAME_BYTES, 7)];
    const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    await context.with(trace.setSpanContext(ROOT_CONTEXT, { ...spanContext, traceFlags: TraceFlags.SAMPLED }), () =>
      sender.send(frames.slice(0, 600), { batch: 64 }),
    );
    await sender.send(frames.slice(600), { batch: 7 });

    const written = await streamFrames(admin, PORT_KEYS.tx(vm.id));
    assert.equal(written.length, frames.length);
    written.forEach(({ frame }, i) => assert.ok(frame.equals(frames[i]), `frame ${i} arrived intact and in order`));
    const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-01`;
    assert.ok(
      written.slice(0, 600).every((w) => w.traceparent === traceparent),
      'every frame of the send is traced',
    );
    assert.ok(
      written.slice(600).every((w) => w.traceparent === undefined),
      'no trace without an active span',
    );
    // Aggregation (issue 11): a round trip's frames share entries, and the jumbo frame, alone in its round trip, is
    // written in the single-frame format.
    assert.deepEqual(written[0].fields, [PORT_ENTRY_FIELDS.frames, PORT_ENTRY_FIELDS.sentAt]);
    assert.deepEqual(written[999].fields, [PORT_ENTRY_FIELDS.frame, PORT_ENTRY_FIELDS.sentAt]);
    assert.ok((await admin.xlen(PORT_KEYS.tx(vm.id))) < frames.length / 4, 'frames are packed several to an entry');
    assert.deepEqual(counters, {
      framesSent: 1000,
      bytesSent: frames.reduce((total, frame) => total + frame.length, 0),
      sendWaits: 0,
      unknownOutcome: 0,
    });
  });

  it('refuses a send with a frame over MAX_FRAME_BYTES, writing none of it', async () => {
    const vm = await newVm();
    const sender = new PortSender(vm.connections.commands, vm.id);
    await assert.rejects(
      sender.send([Buffer.alloc(64), Buffer.alloc(MAX_FRAME_BYTES + 1)]),
      (error: unknown) =>
        error instanceof FrameTooLargeError &&
        error.code === 'PAYLOAD_TOO_LARGE' &&
        /frame 1 of this send is 9217 bytes, more than the 9216/.test(error.message),
    );
    assert.equal(await admin.xlen(PORT_KEYS.tx(vm.id)), 0);
  });

  it('stops at PORT_CAPACITY_FRAMES while nothing drains tx, never above, and resumes once tx is drained', async () => {
    const vm = await newVm();
    const tx = PORT_KEYS.tx(vm.id);
    const counters = newSenderCounters();
    const sender = new PortSender(vm.connections.commands, vm.id, counters);
    const extra = 500;
    const frames = randomFrames(PORT_CAPACITY_FRAMES + extra, 2, 64, 128);

    // Watches the frames in tx for the whole test, as often as Redis answers (an entry may carry many, issue 11).
    const framesIn = async (): Promise<number> => (await streamFrames(admin, tx)).length;
    let longest = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) longest = Math.max(longest, await framesIn().catch(() => 0));
    })();
    const xlenCalls = async (): Promise<number> =>
      Number(/cmdstat_xlen:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);

    let done = false;
    const sending = sender.send(frames, { batch: 512 }).then(() => (done = true));
    await waitFor('the sender to find tx full and wait', 10_000, () => counters.sendWaits > 0);
    assert.equal(await framesIn(), PORT_CAPACITY_FRAMES);
    // Twenty more polls of tx's length, each a chance to overfill it.
    const polls = await xlenCalls();
    await waitFor('the sender to poll tx', 10_000, async () => (await xlenCalls()) >= polls + 20);
    assert.equal(await framesIn(), PORT_CAPACITY_FRAMES);
    assert.equal(done, false, 'the send is still waiting');
    assert.equal(counters.framesSent, PORT_CAPACITY_FRAMES);

    // Another send queued behind it can give up while it waits.
    const abort = new AbortController();
    const queued = sender.send([Buffer.alloc(64)], { signal: abort.signal });
    abort.abort();
    // Handled from now on: it rejects once the send ahead of it is done, and unhandled then it failed the test.
    const queuedRefused = assert.rejects(
      queued,
      (error: unknown) => error instanceof SendAbortedError && error.sent === 0,
    );

    // What the switch does: take frames away (it deletes what it has forwarded).
    await admin.xtrim(tx, 'MAXLEN', 0);
    await sending;
    await queuedRefused;
    watching = false;
    await watcher;

    assert.equal(longest, PORT_CAPACITY_FRAMES, 'tx was full, never fuller');
    const rest = await streamFrames(admin, tx);
    assert.equal(rest.length, extra);
    rest.forEach(({ frame }, i) => assert.ok(frame.equals(frames[PORT_CAPACITY_FRAMES + i]), `frame after the wait`));
    assert.equal(counters.framesSent, frames.length);
    assert.ok(counters.sendWaits >= 1);
  });

  it('hands a batch over only once rx no longer holds it: the switch bounds rx by what the receiver has not consumed', async () => {
    const vm = await newVm();
    const rx = PORT_KEYS.rx(vm.id);
    const frames = randomFrames(3000, 5);
    let received = 0;
    // At each handover, rx's oldest entry, read by another connection sent then, and the last id handed over.
    const probes: Promise<[string | undefined, string]>[] = [];
    const receiver = new PortReceiver(vm.connections.openBlocking(), vm.id, (batch) => {
      received += batch.length;
      const handedOver = receiver.position;
      probes.push(admin.xrange(rx, '-', '+', 'COUNT', 1).then((oldest) => [oldest[0]?.[0], handedOver]));
    });
    const running = receiver.run();
    // Packed entries of 16 frames, in several pipelines, so that some reads find many entries.
    for (let at = 0; at < frames.length; at += 800) {
      const pipeline = admin.pipeline();
      for (let i = at; i < Math.min(at + 800, frames.length); i += 16) {
        pipeline.xadd(
          rx,
          '*',
          PORT_ENTRY_FIELDS.frames,
          packPortFrames(frames.slice(i, i + 16).map((frame) => ({ frame }))),
        );
      }
      await pipeline.exec();
    }
    await waitFor('every frame to be received', 10_000, () => received === frames.length);
    receiver.close();
    await running;
    assert.ok(probes.length > 0);
    for (const [oldest, handedOver] of await Promise.all(probes)) {
      assert.ok(
        oldest === undefined || compareStreamIds(oldest, handedOver) > 0,
        `rx still held ${oldest} when the receiver handed over up to ${handedOver}`,
      );
    }
  });

  it('hands over what a read returned even when its trim fails, then fails: every frame counted as received is handed over', async () => {
    const vm = await newVm();
    const rx = PORT_KEYS.rx(vm.id);
    const frames = randomFrames(96, 7);
    const received: Buffer[] = [];
    const counters = newReceiverCounters();
    // The trim after a read fails as it does when Redis dies between the read's reply and the trim's: here refused.
    const rules = vmAclRules(vm.id, { password: vm.password }, []);
    await admin.call('ACL', 'SETUSER', vmAclUser(vm.id), ...rules.map((rule) => rule.replace(' +xtrim', '')));
    const receiver = new PortReceiver(
      vm.connections.openBlocking(),
      vm.id,
      (batch) => received.push(...batch),
      undefined,
      counters,
    );
    const running = receiver.run();
    const pipeline = admin.pipeline();
    for (let at = 0; at < frames.length; at += 32) {
      pipeline.xadd(
        rx,
        '*',
        PORT_ENTRY_FIELDS.frames,
        packPortFrames(frames.slice(at, at + 32).map((frame) => ({ frame }))),
      );
    }
    await pipeline.exec();

    await assert.rejects(running, /NOPERM/);
    assert.equal(counters.framesReceived, frames.length);
    assert.equal(received.length, counters.framesReceived, 'every frame counted as received was handed over');
    received.forEach((frame, i) => assert.ok(frame.equals(frames[i]), `frame ${i} handed over intact and in order`));

    // The receiver that replaces it starts after them (they are still in rx, untrimmed): none is handed over twice.
    await admin.call('ACL', 'SETUSER', vmAclUser(vm.id), ...rules);
    const later: Buffer[] = [];
    const next = new PortReceiver(
      vm.connections.openBlocking(),
      vm.id,
      (batch) => later.push(...batch),
      receiver.position,
    );
    const nextRunning = next.run();
    await admin.xadd(rx, '*', PORT_ENTRY_FIELDS.frame, Buffer.from('one more'));
    await waitFor('the next frame', 10_000, () => later.length === 1);
    assert.equal(later[0].toString(), 'one more');
    await waitFor('rx to be trimmed', 10_000, async () => (await admin.xlen(rx)) === 0);
    next.close();
    await nextRunning;
  });

  it('hands frames written to rx to the receiver in order, trims rx, and skips entries without a frame', async () => {
    const vm = await newVm();
    const rx = PORT_KEYS.rx(vm.id);
    const frames = randomFrames(1500, 3);
    const received: Buffer[] = [];
    const counters = newReceiverCounters();
    const receiver = new PortReceiver(
      vm.connections.openBlocking(),
      vm.id,
      (batch) => received.push(...batch),
      undefined,
      counters,
    );
    const running = receiver.run();

    // As the switch delivers: pipelined XADDs, single frames then packed ones (issue 11), here with one stray entry
    // that carries no frame and one packed entry cut short.
    const pipeline = admin.pipeline();
    frames.slice(0, 1000).forEach((frame, i) => {
      pipeline.xadd(rx, '*', PORT_ENTRY_FIELDS.frame, frame);
      if (i === 700) pipeline.xadd(rx, '*', 'junk', 'no frame here');
    });
    pipeline.xadd(rx, '*', PORT_ENTRY_FIELDS.frames, Buffer.from([0, 9, 0, 1]));
    for (let at = 1000; at < frames.length; at += 5) {
      const packed = packPortFrames(frames.slice(at, at + 5).map((frame) => ({ frame })));
      pipeline.xadd(rx, '*', PORT_ENTRY_FIELDS.frames, packed);
    }
    await pipeline.exec();

    await waitFor('every frame to be received', 10_000, () => received.length === frames.length);
    received.forEach((frame, i) => assert.ok(frame.equals(frames[i]), `frame ${i} received intact and in order`));
    assert.equal(counters.malformed, 2, 'the stray entry and the packed entry cut short are counted');
    assert.equal(counters.framesReceived, frames.length);
    await waitFor('rx to be trimmed', 10_000, async () => (await admin.xlen(rx)) === 0);

    // A receiver that replaces this one starts after the last frame handed over: nothing is handed twice.
    receiver.close();
    await running;
    const later: Buffer[] = [];
    const next = new PortReceiver(
      vm.connections.openBlocking(),
      vm.id,
      (batch) => later.push(...batch),
      receiver.position,
    );
    const nextRunning = next.run();
    await admin.xadd(rx, '*', PORT_ENTRY_FIELDS.frame, Buffer.from('one more'));
    await waitFor('the next frame', 10_000, () => later.length === 1);
    assert.equal(later[0].toString(), 'one more');
    next.close();
    await nextRunning;
  });

  // Last: it restarts this file's Redis empty.
  it('counts a round trip in flight when Redis dies as unknown outcome, whatever a resend gets from the next server', async () => {
    const vm = await newVm();
    const counters = newSenderCounters();
    const sender = new PortSender(vm.connections.commands, vm.id, counters);
    await sender.send(randomFrames(3, 11));
    // A blocked read ahead of it on the same connection holds the next round trip unanswered in Redis's input.
    const blocked = vm.connections.commands
      .xread('BLOCK', 0, 'STREAMS', PORT_KEYS.rx(vm.id), '$')
      .catch((error: unknown) => error);
    // Its failure is looked at once Redis is back; caught now, so that it is not unhandled meanwhile.
    const sending = sender.send(randomFrames(5, 12)).then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitFor('the round trip waiting behind the blocked read', 10_000, async () =>
      String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .some((line) => line.includes(`name=${vm.id}:commands `) && /cmd=xread/.test(line) && !/ qbuf=0 /.test(line)),
    );

    // The new server has no such user: ioredis's resend of the round trip is refused there (WRONGPASS), which says
    // nothing of what the server that died did with it.
    await redis.restartEmpty();
    const failure = await sending;
    // A dependency failure (503 at the HTTP API), not an internal error: whether the write landed is unknown.
    assert.ok(failure instanceof DependencyUnavailableError, `the send failed as Redis went: ${String(failure)}`);
    assert.deepEqual(
      { framesSent: counters.framesSent, unknownOutcome: counters.unknownOutcome },
      { framesSent: 3, unknownOutcome: 5 },
    );
    await blocked;
  });
});
