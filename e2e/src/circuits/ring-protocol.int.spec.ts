import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { propagation } from '@opentelemetry/api';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  CIRCUIT_KEYS,
  CircuitClosedError,
  type CircuitConnections,
  CircuitDatagramSocket,
  type CircuitDescriptor,
  type CircuitMode,
  CircuitResetError,
  CircuitStream,
  CircuitTornDownError,
  DatagramTooLargeError,
  ENTRY_KINDS,
  MAX_ENTRY_BYTES,
  queueCircuitKeysCreation,
  type RingCapacity,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';

/** Waits for `condition` to hold, polling; fails with `what` at the deadline. */
async function until(what: string, timeoutMs: number, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Everything a stream delivers until the peer's FIN. Not `for await`: the async iterator destroys the whole Duplex
 * when the readable side ends, which would abort a half-open circuit that still wants to answer.
 */
async function readToEnd(stream: CircuitStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(stream, 'end');
  return Buffer.concat(chunks);
}

/** The keys an operator's teardown deletes. */
function circuitKeys(id: string): string[] {
  return [CIRCUIT_KEYS.control(id), CIRCUIT_KEYS.ring(id, 'a2b'), CIRCUIT_KEYS.ring(id, 'b2a')];
}

/** Calls `count` on the results of every pipeline `client` executes and collects what it returns. */
function recordPipelines(
  client: Redis,
  count: (results: [Error | null, unknown][]) => number,
  into: number[] = [],
): number[] {
  const pipeline = client.pipeline.bind(client);
  client.pipeline = (...args: Parameters<Redis['pipeline']>) => {
    const created = pipeline(...args);
    const exec = created.exec.bind(created);
    created.exec = async () => {
      const results = (await exec()) ?? [];
      into.push(count(results));
      return results;
    };
    return created;
  };
  return into;
}

/** The number of entries in an XREAD reply (null when the read timed out). */
function xreadEntries(reply: unknown): number {
  const streams = reply as [unknown, unknown[]][] | null | undefined;
  return streams?.[0]?.[1]?.length ?? 0;
}

describe('the circuit ring protocol on a real Redis', () => {
  let redis: TestRedis;
  let admin: Redis;
  const opened: Redis[] = [];

  const connections = (): CircuitConnections => {
    const commands = new Redis(redis.url);
    opened.push(commands);
    return {
      commands,
      openBlocking: () => {
        const blocking = new Redis(redis.url);
        opened.push(blocking);
        return blocking;
      },
    };
  };

  /** Creates a circuit's keys the way the operator does, and both ends' descriptors. */
  async function createCircuit(
    mode: CircuitMode,
    capacity: RingCapacity = { entries: 4096, bytes: 4 * 1024 * 1024 },
  ): Promise<[CircuitDescriptor, CircuitDescriptor]> {
    const id = randomUUID();
    await queueCircuitKeysCreation(admin.multi(), { id, mode, capacity, vmA: 'vm-a', vmB: 'vm-b' }).exec();
    const base = { id, mode, service: 'test', capacity };
    const a = { vm: 'vm-a', tenant: 'tenant-t' };
    const b = { vm: 'vm-b', tenant: 'tenant-t' };
    return [
      { ...base, side: 'a', local: a, peer: b },
      { ...base, side: 'b', local: b, peer: a },
    ];
  }

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
    const contextManager = new AsyncLocalStorageContextManager();
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });

  after(async () => {
    for (const client of opened) client.disconnect();
    admin.disconnect();
    await redis.stop();
  });

  it('delivers 100k datagrams each way at once, in order, exactly once', { timeout: 120_000 }, async () => {
    const count = 100_000;
    const [da, db] = await createCircuit('datagram');
    const a = new CircuitDatagramSocket(da, connections());
    const b = new CircuitDatagramSocket(db, connections());
    const receivedBy = (socket: CircuitDatagramSocket, from: string): Promise<number> =>
      new Promise((resolve, reject) => {
        let next = 0;
        socket.on('error', reject);
        socket.on('message', (data) => {
          const text = data.toString();
          if (text !== `${from}:${next}`) reject(new Error(`expected ${from}:${next}, got ${text}`));
          next += 1;
          if (next === count) resolve(next);
        });
      });
    const sendAll = async (socket: CircuitDatagramSocket, from: string): Promise<void> => {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        sends.push(socket.send(Buffer.from(`${from}:${i}`)));
        if (sends.length === 1000) await Promise.all(sends.splice(0));
      }
      await Promise.all(sends);
    };
    const [atB, atA] = await Promise.all([receivedBy(b, 'a'), receivedBy(a, 'b'), sendAll(a, 'a'), sendAll(b, 'b')]);
    assert.equal(atB, count);
    assert.equal(atA, count);
    await Promise.all([a.close(), b.close()]);
  });

  it('carries 100k writes each way as one ordered byte stream, exactly once', { timeout: 120_000 }, async () => {
    const count = 100_000;
    const [da, db] = await createCircuit('stream');
    const a = new CircuitStream(da, connections());
    const b = new CircuitStream(db, connections());
    const record = (from: string, i: number): string => `${from}${String(i).padStart(6, '0')};`;
    const expected = (from: string): string => Array.from({ length: count }, (_, i) => record(from, i)).join('');
    const collect = async (stream: CircuitStream): Promise<string> => (await readToEnd(stream)).toString();
    const writeAll = async (stream: CircuitStream, from: string): Promise<void> => {
      for (let i = 0; i < count; i++) {
        if (!stream.write(record(from, i))) await once(stream, 'drain');
      }
      stream.end();
    };
    const [atB, atA] = await Promise.all([collect(b), collect(a), writeAll(a, 'a'), writeAll(b, 'b')]);
    assert.equal(atB.length, expected('a').length);
    assert.ok(atB === expected('a'), 'b received exactly what a wrote, in order');
    assert.ok(atA === expected('b'), 'a received exactly what b wrote, in order');
  });

  it('splits large messages into entries and rejoins them, in both modes', { timeout: 60_000 }, async () => {
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const [da, db] = await createCircuit('datagram');
    const a = new CircuitDatagramSocket(da, connections());
    const b = new CircuitDatagramSocket(db, connections());
    const messages: Buffer[] = [];
    b.on('message', (data) => messages.push(data));
    await a.send(big);
    await a.send(Buffer.from('small'));
    await until('two datagrams', 10_000, () => messages.length === 2);
    assert.ok(messages[0].equals(big), 'the 1 MiB datagram arrives whole');
    assert.equal(messages[1].toString(), 'small');
    assert.ok((await admin.xlen(CIRCUIT_KEYS.ring(da.id, 'a2b'))) <= 17);

    const [sa, sb] = await createCircuit('stream');
    const writer = new CircuitStream(sa, connections());
    const reader = new CircuitStream(sb, connections());
    const stream = Buffer.concat([big, big, big, big, big]);
    writer.end(stream);
    assert.ok((await readToEnd(reader)).equals(stream), 'a 5 MiB write arrives byte for byte');
    await Promise.all([a.close(), b.close()]);
    reader.end();
  });

  /** The payload bytes a ring holds: what the writer's credit counts against its capacity in bytes. */
  async function ringPayloadBytes(ring: string): Promise<number> {
    const entries = await admin.xrangeBuffer(ring, '-', '+');
    let bytes = 0;
    for (const [, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i].toString() === 'p') bytes += fields[i + 1].length;
    }
    return bytes;
  }

  // Datagrams over half an entry each take an entry of their own, so the capacity in entries holds the writer;
  // 1 KiB ones are packed, so the capacity in bytes does.
  for (const { size, total, capacity } of [
    { size: MAX_ENTRY_BYTES / 2 + 1024, total: 200, capacity: { entries: 16, bytes: 1024 * 1024 } },
    { size: 1024, total: 2000, capacity: { entries: 64, bytes: 64 * 1024 } },
  ]) {
    it(
      `holds the writer at the ring capacity while the reader stops, and loses nothing when it resumes (${size} B)`,
      { timeout: 60_000 },
      async () => {
        const [da, db] = await createCircuit('datagram', capacity);
        const a = new CircuitDatagramSocket(da, connections());
        const b = new CircuitDatagramSocket(db, connections());
        const received: number[] = [];
        b.on('message', (data) => received.push(data.readUInt32BE(0)));
        b.pause();
        let sent = 0;
        const sends = Array.from({ length: total }, (_, i) => {
          const payload = Buffer.alloc(size);
          payload.writeUInt32BE(i, 0);
          return a.send(payload).then(() => void (sent += 1));
        });
        const ring = CIRCUIT_KEYS.ring(da.id, 'a2b');
        await until('the writer to fill the ring', 10_000, async () => {
          const full = (await admin.xlen(ring)) >= capacity.entries;
          return full || (await ringPayloadBytes(ring)) + size > capacity.bytes;
        });
        // Give the writer every chance to overrun: many more round trips than it needs to fill the ring.
        for (let i = 0; i < 50; i++) await admin.ping();
        const length = await admin.xlen(ring);
        const bytes = await ringPayloadBytes(ring);
        const memory = Number(await admin.memory('USAGE', ring));
        assert.ok(length <= capacity.entries, `ring holds ${length} entries, capacity ${capacity.entries}`);
        assert.ok(bytes <= capacity.bytes, `ring holds ${bytes} payload bytes, capacity ${capacity.bytes}`);
        assert.ok(
          memory <= capacity.bytes * 1.5,
          `ring uses ${memory} bytes of Redis memory, capacity ${capacity.bytes}`,
        );
        const fits = Math.min(capacity.entries * Math.floor(MAX_ENTRY_BYTES / size), capacity.bytes / size);
        assert.ok(sent <= fits + received.length, `${sent} sends resolved while the reader was stopped`);
        b.resume();
        await Promise.all(sends);
        await until('every datagram', 20_000, () => received.length === total);
        assert.deepEqual(
          received,
          Array.from({ length: total }, (_, i) => i),
        );
        await until('the reader to trim the ring', 5_000, async () => (await admin.xlen(ring)) === 0);
        await Promise.all([a.close(), b.close()]);
      },
    );
  }

  it('half-closes with FIN: the peer sees the end and can still answer', async () => {
    const [da, db] = await createCircuit('stream');
    const a = new CircuitStream(da, connections());
    const b = new CircuitStream(db, connections());
    a.end('question');
    assert.equal((await readToEnd(b)).toString(), 'question');
    b.end('answer');
    assert.equal((await readToEnd(a)).toString(), 'answer');
    await until('both ends closed', 5_000, () => a.closed && b.closed);
  });

  it('closes an echoing end only once the peer has taken its FIN, so a teardown then loses nothing', async () => {
    const [da, db] = await createCircuit('stream');
    const a = new CircuitStream(da, connections());
    const b = new CircuitStream(db, connections());
    // What the tenant VM does: on 'close' it asks the operator to tear the circuit down, which deletes its keys.
    b.once('close', () => void admin.del(...circuitKeys(da.id)));
    b.pipe(b); // the echo workload
    const sent = Buffer.alloc(1024 * 1024, 'echo');
    a.end(sent);
    // A reads nothing until B's FIN is in B's ring behind the whole echo: the peer under load, late to read.
    await until("B's FIN in its ring", 10_000, async () => {
      const [last] = await admin.xrevrange(CIRCUIT_KEYS.ring(da.id, 'b2a'), '+', '-', 'COUNT', 1);
      return last?.[1][1] === ENTRY_KINDS.fin;
    });
    // Before the fix B closed (and the circuit went) right after writing its FIN. Only a deadline can show it stays.
    await assert.rejects(until('B closed', 500, () => b.closed));
    assert.deepEqual(await readToEnd(a), sent);
    await until('both ends closed', 5_000, () => a.closed && b.closed);
  });

  it('lets a stream past both FINs end normally when the operator tears the circuit down', async () => {
    const [da, db] = await createCircuit('stream');
    const a = new CircuitStream(da, connections());
    const b = new CircuitStream(db, connections());
    a.end('question');
    assert.equal((await readToEnd(b)).toString(), 'question');
    b.end('answer');
    // A's reader takes the answer and the FIN into the stream's buffer; the application has not read it yet.
    await until("A took B's FIN", 5_000, async () => {
      return b.writableFinished && (await admin.xlen(CIRCUIT_KEYS.ring(da.id, 'b2a'))) === 0;
    });
    await admin.del(...circuitKeys(da.id));
    a.tornDown(new CircuitTornDownError(da.id, 'the operator tore it down: closed by vm-b'));
    assert.equal((await readToEnd(a)).toString(), 'answer');
  });

  it('resets the peer with RST when one side aborts', async () => {
    const [da, db] = await createCircuit('stream');
    const a = new CircuitStream(da, connections());
    const b = new CircuitStream(db, connections());
    b.on('data', () => undefined);
    const failed = once(b, 'error');
    const aborted = once(a, 'error');
    a.destroy(new Error('application crashed'));
    await aborted;
    const [error] = (await failed) as [Error];
    assert.ok(error instanceof CircuitResetError, String(error));
    assert.match(error.message, /application crashed/);
  });

  it('refuses an oversized datagram and a send after close, and keeps the circuit working', async () => {
    const [da, db] = await createCircuit('datagram', { entries: 64, bytes: 128 * 1024 });
    const a = new CircuitDatagramSocket(da, connections());
    const b = new CircuitDatagramSocket(db, connections());
    const messages: string[] = [];
    b.on('message', (data) => messages.push(data.toString()));
    assert.equal(a.maxDatagramSize, 128 * 1024);
    await assert.rejects(a.send(Buffer.alloc(128 * 1024 + 1)), DatagramTooLargeError);
    await a.send(Buffer.from('still works'));
    await until('the datagram after the refused one', 5_000, () => messages.length === 1);
    assert.deepEqual(messages, ['still works']);
    await a.close();
    await assert.rejects(a.send(Buffer.from('late')), CircuitClosedError);
    await b.close();
  });

  it('packs a burst of small datagrams into fewer entries, intact and in order', { timeout: 60_000 }, async () => {
    const count = 5000;
    const [da, db] = await createCircuit('datagram');
    const sender = connections();
    // Entries each of the writer's round trips carried: its pipeline is its XADDs plus one XLEN (its credit).
    const writes = recordPipelines(sender.commands, (results) => results.length - 1);
    const a = new CircuitDatagramSocket(da, sender);
    const b = new CircuitDatagramSocket(db, connections());
    const received: Buffer[] = [];
    b.on('message', (data) => received.push(data));
    const sent = Array.from({ length: count }, (_, i) => Buffer.from(`datagram ${i} `.padEnd(64, String(i % 10))));
    sent[7] = Buffer.alloc(0); // an empty datagram keeps its place too
    await Promise.all(sent.map((data) => a.send(data)));
    await until(`all ${count} datagrams at b`, 20_000, () => received.length === count);
    assert.ok(
      received.every((data, i) => data.equals(sent[i])),
      'every datagram arrives whole, in order',
    );
    const entries = writes.reduce((sum, n) => sum + n, 0);
    assert.ok(entries * 10 < count, `${count} datagrams sent in a burst took ${entries} ring entries`);
    await Promise.all([a.close(), b.close()]);
  });

  it('sends a burst of small stream writes as a few full entries, byte for byte', async () => {
    const count = 5000;
    const [sa, sb] = await createCircuit('stream');
    const sender = connections();
    const writes = recordPipelines(sender.commands, (results) => results.length - 1);
    const a = new CircuitStream(sa, sender);
    const b = new CircuitStream(sb, connections());
    const record = (i: number): string => `w${String(i).padStart(5, '0')};`;
    // Written at once, past the high-water mark: what waits behind the write in flight goes out together.
    for (let i = 0; i < count; i++) a.write(record(i));
    a.end();
    const expected = Array.from({ length: count }, (_, i) => record(i)).join('');
    assert.ok((await readToEnd(b)).toString() === expected, 'b received exactly what a wrote, in order');
    const entries = writes.reduce((sum, n) => sum + n, 0) - 1; // the FIN
    assert.ok(entries * 100 < count, `${count} writes in a burst took ${entries} ring entries`);
    b.end();
  });

  it('sends one entry per datagram, at once, when each is sent alone and the reader waits', async () => {
    const count = 50;
    const [da, db] = await createCircuit('datagram');
    const sender = connections();
    const writes = recordPipelines(sender.commands, (results) => results.length - 1);
    // The kind of every entry the writer adds: XADD key NOMKSTREAM * k <kind> p <payload> ...
    const kinds: string[] = [];
    const pipeline = sender.commands.pipeline.bind(sender.commands);
    sender.commands.pipeline = (...args: Parameters<Redis['pipeline']>) => {
      const created = pipeline(...args);
      const xadd = created.xadd.bind(created) as (...xaddArgs: unknown[]) => typeof created;
      const recording = (...xaddArgs: unknown[]): typeof created => {
        kinds.push(String(xaddArgs[4]));
        return xadd(...xaddArgs);
      };
      created.xadd = recording;
      return created;
    };
    const a = new CircuitDatagramSocket(da, sender);
    const b = new CircuitDatagramSocket(db, connections());
    const received: string[] = [];
    b.on('message', (data) => received.push(data.toString()));
    for (let i = 0; i < count; i++) {
      await a.send(Buffer.from(`alone ${i}`));
      await until(`datagram ${i} at b`, 5_000, () => received.length === i + 1);
    }
    assert.deepEqual(
      received,
      Array.from({ length: count }, (_, i) => `alone ${i}`),
    );
    assert.deepEqual(
      writes.filter((n) => n > 0),
      Array.from({ length: count }, () => 1),
      'one round trip of one entry per datagram: nothing waited to be packed',
    );
    assert.deepEqual(new Set(kinds), new Set([ENTRY_KINDS.data]), 'each went as a plain data entry, not packed');
    await Promise.all([a.close(), b.close()]);
  });

  it("keeps every write and every read within the circuit end's batch limits", async () => {
    const count = 100;
    const [da, db] = await createCircuit('datagram');
    const sender = connections();
    const receiver = connections();
    // Entries per round trip as Redis answered them: the writer's pipeline is its XADDs plus one HMGET (its credit),
    // the reader's ends with its XREAD.
    const writes = recordPipelines(sender.commands, (results) => results.length - 1);
    const reads: number[] = [];
    const openBlocking = (): Redis => {
      const blocking = receiver.openBlocking();
      recordPipelines(blocking, (results) => xreadEntries(results.at(-1)?.[1]), reads);
      return blocking;
    };
    const a = new CircuitDatagramSocket(da, sender, { writeEntries: 8 });
    const b = new CircuitDatagramSocket(db, { commands: receiver.commands, openBlocking }, { readEntries: 5 });
    // All 100 are in the ring before b reads, so an unbounded reader would take them in one read.
    b.pause();
    const received: string[] = [];
    b.on('message', (data) => received.push(data.toString('latin1', 0, data.indexOf('|'))));
    // Sent in one burst, so an unbounded writer would send all but the first in one round trip. Over half an entry
    // each, so no two share one: the limits are on entries.
    const datagram = (i: number): Buffer => Buffer.concat([Buffer.from(`m${i}|`), Buffer.alloc(MAX_ENTRY_BYTES / 2)]);
    await Promise.all(Array.from({ length: count }, (_, i) => a.send(datagram(i))));
    b.resume();
    await until('all 100 datagrams at b', 10_000, () => received.length === count);
    assert.deepEqual(
      received,
      Array.from({ length: count }, (_, i) => `m${i}`),
    );
    const dataWrites = writes.filter((n) => n > 0);
    assert.equal(
      dataWrites.reduce((sum, n) => sum + n, 0),
      count,
    );
    assert.ok(Math.max(...dataWrites) === 8, `writes per round trip: ${dataWrites.join(',')}`);
    const dataReads = reads.filter((n) => n > 0);
    assert.equal(
      dataReads.reduce((sum, n) => sum + n, 0),
      count,
    );
    assert.ok(Math.max(...dataReads) === 5, `reads per round trip: ${dataReads.join(',')}`);
    await Promise.all([a.close(), b.close()]);
  });

  it('acknowledges (trims) and reads again in one round trip', async () => {
    const [da, db] = await createCircuit('datagram');
    const receiver = connections();
    // The replies of each pipeline the reader's blocking connection executes: the trim (XTRIM, which is also the
    // acknowledgement the writer's credit comes from), the ring's length (XLEN, held to the capacity) and the read
    // (XREAD) come back as three replies of one round trip; with nothing to acknowledge, length and read as two.
    const replies: unknown[][] = [];
    const openBlocking = (): Redis => {
      const blocking = receiver.openBlocking();
      recordPipelines(blocking, (results) => replies.push(results.map(([, reply]) => reply)), []);
      return blocking;
    };
    const a = new CircuitDatagramSocket(da, connections());
    const b = new CircuitDatagramSocket(db, { commands: receiver.commands, openBlocking });
    const received: string[] = [];
    b.on('message', (data) => received.push(data.toString()));
    const ring = CIRCUIT_KEYS.ring(da.id, 'a2b');
    for (let burst = 1; burst <= 3; burst++) {
      await Promise.all(Array.from({ length: 4 }, (_, i) => a.send(Buffer.from(`b${burst}m${i}`))));
      await until(`burst ${burst} at b`, 10_000, () => received.length === burst * 4);
    }
    // The read after the last burst carries its acknowledgement: the trim leaves the ring empty.
    await until('the last burst acknowledged', 10_000, async () => (await admin.xlen(ring)) === 0);
    assert.equal(received.length, 12);

    // Every pipeline is either length + read or trim + length + read; none trims on its own.
    const shapes = replies.map((r) =>
      r.length === 2 ? 'xlen+read' : r.length === 3 ? 'trim+xlen+read' : `${r.length}`,
    );
    assert.deepEqual(new Set(shapes), new Set(['xlen+read', 'trim+xlen+read']), shapes.join(', '));
    const combined = replies.filter((r) => r.length === 3);
    assert.ok(combined.length >= 3, `one per burst at least: ${shapes.join(', ')}`);
    for (const [trimmed, length] of combined) {
      assert.ok(typeof trimmed === 'number' && trimmed > 0, 'XTRIM removed the entries just consumed');
      assert.equal(typeof length, 'number', 'XLEN answers with the unread entries');
    }
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses batch limits outside 1 to 512 entries', async () => {
    const [da] = await createCircuit('datagram');
    for (const limits of [{ writeEntries: 0 }, { writeEntries: 513 }, { readEntries: 0 }, { readEntries: 1.5 }]) {
      assert.throws(() => new CircuitDatagramSocket(da, connections(), limits), RangeError, JSON.stringify(limits));
    }
  });

  it('fails both ends with CIRCUIT_TORN_DOWN when the circuit keys are deleted', async () => {
    const [da, db] = await createCircuit('datagram');
    const a = new CircuitDatagramSocket(da, connections());
    const b = new CircuitDatagramSocket(db, connections());
    const bFailed = once(b, 'error');
    // A's own reader may notice first: listen before the keys go, or its 'error' would be thrown unheard.
    const aErrors: Error[] = [];
    a.on('error', (error: Error) => aErrors.push(error));
    await admin.del(CIRCUIT_KEYS.control(da.id), CIRCUIT_KEYS.ring(da.id, 'a2b'), CIRCUIT_KEYS.ring(da.id, 'b2a'));
    const [error] = (await bFailed) as [Error];
    assert.ok(error instanceof CircuitTornDownError, String(error));
    await assert.rejects(a.send(Buffer.from('into the void')), CircuitTornDownError);
    assert.ok(
      aErrors.every((e) => e instanceof CircuitTornDownError),
      aErrors.map(String).join('; '),
    );
  });

  it('rejects every send after a failure with that failure, not a bare "closed"', async () => {
    const [da] = await createCircuit('datagram');
    const a = new CircuitDatagramSocket(da, connections());
    const failure = new CircuitTornDownError(da.id, 'the operator tore it down: a test said so');
    a.on('error', () => undefined);
    a.fail(failure);
    await assert.rejects(a.send(Buffer.from('after the failure')), (error: unknown) => error === failure);
    await assert.rejects(a.send(Buffer.from('and again')), (error: unknown) => error === failure);
  });

  it(
    'finishes a close within the time limit when the peer never reads, leaving its data in the ring',
    { timeout: 60_000 },
    async () => {
      // A peer that stops reading (hostile or stuck) must not hold this end, and so its circuit and quota, open for
      // good: the close waits for the peer to take the FIN only up to TAKEN_TIMEOUT_MS (15 s).
      const [da] = await createCircuit('stream');
      const a = new CircuitStream(da, connections());
      a.on('error', () => undefined);
      a.end(Buffer.from('never read'));
      await once(a, 'finish');
      const ring = CIRCUIT_KEYS.ring(da.id, 'a2b');
      assert.equal(await admin.xlen(ring), 2, 'the data and the FIN are still there: nobody took them');
      a.destroy();
    },
  );

  it('stamps every entry with the trace context of the write that produced it', async () => {
    const [da, db] = await createCircuit('datagram');
    const a = new CircuitDatagramSocket(da, connections());
    const b = new CircuitDatagramSocket(db, connections());
    const seen: (string | undefined)[] = [];
    b.on('message', (_data, info) => seen.push(info.traceparent));
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanContext = { traceId, spanId: 'b7ad6b7169203331', traceFlags: 1 };
    await context.with(trace.setSpanContext(context.active(), spanContext), () => a.send(Buffer.from('traced')));
    await a.send(Buffer.from('untraced'));
    await until('two datagrams', 5_000, () => seen.length === 2);
    assert.equal(seen[0], `00-${traceId}-b7ad6b7169203331-01`);
    assert.equal(seen[1], undefined);
    await Promise.all([a.close(), b.close()]);
  });
});
