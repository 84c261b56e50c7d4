import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis } from '@tenantlab/lab';
import {
  CIRCUIT_KEYS,
  type CircuitConnections,
  CircuitDatagramSocket,
  type CircuitDescriptor,
  type CircuitMode,
  CircuitStream,
  ENTRY_FIELDS,
  ENTRY_KINDS,
  MAX_DATAGRAM_BYTES,
  MAX_ENTRY_BYTES,
  MAX_RESET_REASON_CHARS,
  packDatagrams,
  queueCircuitKeysCreation,
  REDIS_PROTO_MAX_BULK_BYTES,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';

interface DomainLike extends Error {
  code?: string;
}

/** The first 'error' the socket emits, or a failure naming `what` after 5 s. */
async function firstError(socket: NodeJS.EventEmitter, what: string): Promise<DomainLike> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), 5000);
  try {
    const [error] = (await once(socket, 'error', { signal: timeout.signal })) as [DomainLike];
    return error;
  } catch (error) {
    if (timeout.signal.aborted) throw new Error(`no error within 5 s: ${what}`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A hostile circuit peer writes straight to Redis what its ACL lets it write (XADD on its outbound ring, any fields
 * and sizes): the honest end resets the circuit with a bounded reason instead of buffering without bound.
 */
describe('a circuit end facing a hostile peer that writes straight to Redis', { timeout: 60_000 }, () => {
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

  /** The honest end is side `b`; the hostile peer (side `a`) writes a2b, and finds b's answers in b2a. */
  async function honestEnd(
    mode: CircuitMode,
    capacity = { entries: 4096, bytes: 4 * 1024 * 1024 },
  ): Promise<CircuitDescriptor> {
    const id = randomUUID();
    await queueCircuitKeysCreation(admin.multi(), { id, mode, capacity, vmA: 'vm-h', vmB: 'vm-v' }).exec();
    const hostile = { vm: 'vm-h', tenant: 'tenant-h' };
    const victim = { vm: 'vm-v', tenant: 'tenant-v' };
    return { id, mode, service: 'test', capacity, side: 'b', local: victim, peer: hostile };
  }

  /** XADDs one raw entry to the ring the honest end reads, as the peer could. */
  function hostileWrite(circuitId: string, fields: (string | Buffer)[]): Promise<string | null> {
    return admin.xadd(CIRCUIT_KEYS.ring(circuitId, 'a2b'), 'NOMKSTREAM', '*', ...fields);
  }

  /** The RST the honest end sent back, if any. */
  async function resetSentBack(circuitId: string): Promise<string | undefined> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const entries = await admin.xrange(CIRCUIT_KEYS.ring(circuitId, 'b2a'), '-', '+');
      const rst = entries.find(([, fields]) => fields[1] === ENTRY_KINDS.rst);
      if (rst) return rst[1][3];
      await new Promise((resolve) => setImmediate(resolve));
    }
    return undefined;
  }

  before(async () => {
    redis = await startTestRedis();
    admin = new Redis(redis.url);
  });

  after(async () => {
    for (const client of opened) client.disconnect();
    admin?.disconnect();
    await redis?.stop();
  });

  it('resets a datagram circuit on an entry over the fragment limit, telling the peer why', async () => {
    const descriptor = await honestEnd('datagram');
    const socket = new CircuitDatagramSocket(descriptor, connections());
    const messages: Buffer[] = [];
    socket.on('message', (data) => messages.push(data));
    const failed = firstError(socket, 'the circuit must be reset');
    await hostileWrite(descriptor.id, [
      ENTRY_FIELDS.kind,
      ENTRY_KINDS.data,
      ENTRY_FIELDS.payload,
      Buffer.alloc(MAX_ENTRY_BYTES + 1),
    ]);
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match(error.message, /over the 65536-byte fragment limit/);
    assert.deepEqual(messages, []);
    assert.match((await resetSentBack(descriptor.id)) ?? '', /broke the protocol/);
  });

  it('resets a stream circuit on an entry over the fragment limit, telling the peer why', async () => {
    const descriptor = await honestEnd('stream');
    const stream = new CircuitStream(descriptor, connections());
    stream.on('data', () => assert.fail('nothing oversized is delivered'));
    const failed = firstError(stream, 'the circuit must be reset');
    await hostileWrite(descriptor.id, [
      ENTRY_FIELDS.kind,
      ENTRY_KINDS.data,
      ENTRY_FIELDS.payload,
      Buffer.alloc(MAX_ENTRY_BYTES + 1),
    ]);
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match((await resetSentBack(descriptor.id)) ?? '', /broke the protocol/);
  });

  it('resets on an entry whose extra fields make it too large, though its payload is small', async () => {
    const descriptor = await honestEnd('stream');
    const stream = new CircuitStream(descriptor, connections());
    const failed = firstError(stream, 'the circuit must be reset');
    const padding = Buffer.alloc(512 * 1024);
    await hostileWrite(descriptor.id, [ENTRY_FIELDS.kind, ENTRY_KINDS.data, ENTRY_FIELDS.payload, 'x', 'pad', padding]);
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match(error.message, /over the \d+-byte entry limit/);
  });

  it('resets on an unfinished datagram that grows past the datagram limit, before buffering more', async () => {
    const descriptor = await honestEnd('datagram');
    const socket = new CircuitDatagramSocket(descriptor, connections());
    socket.on('message', () => assert.fail('no datagram is delivered'));
    const failed = firstError(socket, 'the circuit must be reset');
    // Full fragments, never a last one: one more than a 1 MiB datagram takes.
    const fragment = Buffer.alloc(MAX_ENTRY_BYTES);
    for (let i = 0; i <= MAX_DATAGRAM_BYTES / MAX_ENTRY_BYTES; i++) {
      await hostileWrite(descriptor.id, [ENTRY_FIELDS.kind, ENTRY_KINDS.more, ENTRY_FIELDS.payload, fragment]);
    }
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match(error.message, /a datagram of more than 1048576 bytes/);
  });

  it('resets a datagram circuit on a packed entry with bad framing, delivering none of it', async () => {
    const descriptor = await honestEnd('datagram');
    const socket = new CircuitDatagramSocket(descriptor, connections());
    const messages: Buffer[] = [];
    socket.on('message', (data) => messages.push(data));
    const failed = firstError(socket, 'the circuit must be reset');
    // One good record, then one whose length runs past the end of the entry.
    const good = packDatagrams([{ data: Buffer.from('fine') }]);
    const bad = Buffer.concat([good, Buffer.from([0, 0, 0x10, 0, 0]), Buffer.from('short')]);
    await hostileWrite(descriptor.id, [ENTRY_FIELDS.kind, ENTRY_KINDS.packed, ENTRY_FIELDS.payload, bad]);
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match(error.message, /packed ring entry \S+: record 2 at byte 9 declares 4096 data bytes/);
    assert.deepEqual(messages, [], 'nothing of a bad entry is delivered');
    assert.match((await resetSentBack(descriptor.id)) ?? '', /packed ring entry/);
  });

  it('resets a stream circuit on an entry of packed datagrams', async () => {
    const streamEnd = await honestEnd('stream');
    const stream = new CircuitStream(streamEnd, connections());
    stream.on('data', () => assert.fail('nothing is delivered'));
    const streamFailed = firstError(stream, 'the stream must be reset');
    const two = packDatagrams([{ data: Buffer.from('a') }, { data: Buffer.from('b') }]);
    await hostileWrite(streamEnd.id, [ENTRY_FIELDS.kind, ENTRY_KINDS.packed, ENTRY_FIELDS.payload, two]);
    const error = await streamFailed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match(error.message, /packs datagrams on a stream circuit/);
  });

  it('resets on a stream of empty fragments that never finishes a datagram', async () => {
    const descriptor = await honestEnd('datagram');
    const socket = new CircuitDatagramSocket(descriptor, connections());
    const failed = firstError(socket, 'the circuit must be reset');
    const pipeline = admin.pipeline();
    for (let i = 0; i < 1000; i++) {
      pipeline.xadd(
        CIRCUIT_KEYS.ring(descriptor.id, 'a2b'),
        '*',
        ENTRY_FIELDS.kind,
        ENTRY_KINDS.more,
        ENTRY_FIELDS.payload,
        '',
      );
    }
    await pipeline.exec();
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
  });

  /** XADDs `count` data entries of `payload` in one pipeline, as a writer ignoring its credit would. */
  async function floodRing(circuitId: string, count: number, payload: Buffer): Promise<void> {
    const pipeline = admin.pipeline();
    for (let i = 0; i < count; i++) {
      pipeline.xadd(
        CIRCUIT_KEYS.ring(circuitId, 'a2b'),
        'NOMKSTREAM',
        '*',
        ENTRY_FIELDS.kind,
        ENTRY_KINDS.data,
        ENTRY_FIELDS.payload,
        payload,
      );
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  it('resets a circuit whose writer ignores its credit and fills the ring past its capacity in entries', async () => {
    const capacity = { entries: 16, bytes: 1024 * 1024 };
    const descriptor = await honestEnd('stream', capacity);
    const stream = new CircuitStream(descriptor, connections());
    let delivered = 0;
    stream.on('data', (chunk: Buffer) => (delivered += chunk.length));
    const failed = firstError(stream, 'the circuit must be reset');
    // Four times the ring's capacity, each entry well within the fragment and byte limits.
    await floodRing(descriptor.id, 4 * capacity.entries, Buffer.from('x'));
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match(
      error.message,
      /unread entries, over its capacity of 16 \(\+ FIN and RST\): the writer ignores its credit/,
    );
    assert.ok(delivered < 4 * capacity.entries, `${delivered} bytes delivered`);
    assert.match((await resetSentBack(descriptor.id)) ?? '', /ignores its credit/);
  });

  it('resets a circuit whose writer ignores its credit in bytes, though its entries are within capacity', async () => {
    const capacity = { entries: 4096, bytes: 128 * 1024 };
    const descriptor = await honestEnd('stream', capacity);
    const stream = new CircuitStream(descriptor, connections());
    stream.on('data', () => undefined);
    const failed = firstError(stream, 'the circuit must be reset');
    // Eight fragments of 60 KiB: 480 KiB unread, over 128 KiB, in 8 entries of 4096.
    await floodRing(descriptor.id, 8, Buffer.alloc(60 * 1024, 7));
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_PROTOCOL_VIOLATION');
    assert.match(error.message, /unread payload bytes, over its capacity of 131072: the writer ignores its credit/);
  });

  it("cuts a peer's RST reason to a bounded length before it is kept or logged", async () => {
    const descriptor = await honestEnd('datagram');
    const socket = new CircuitDatagramSocket(descriptor, connections());
    const failed = firstError(socket, 'the circuit must be reset');
    await hostileWrite(descriptor.id, [ENTRY_FIELDS.kind, ENTRY_KINDS.rst, ENTRY_FIELDS.payload, 'x'.repeat(60_000)]);
    const error = await failed;
    assert.equal(error.code, 'CIRCUIT_RESET');
    assert.ok(error.message.length < MAX_RESET_REASON_CHARS + 100, `${error.message.length} characters`);
    assert.match(error.message, /\(cut\)$/);
  });

  it('still delivers the largest legitimate datagram, and Redis refuses an argument over its bulk limit', async () => {
    const descriptor = await honestEnd('datagram');
    const socket = new CircuitDatagramSocket(descriptor, connections());
    const received = once(socket, 'message') as Promise<[Buffer]>;
    const datagram = Buffer.alloc(MAX_DATAGRAM_BYTES, 5);
    for (let offset = 0; offset < datagram.length; offset += MAX_ENTRY_BYTES) {
      const last = offset + MAX_ENTRY_BYTES >= datagram.length;
      const kind = last ? ENTRY_KINDS.data : ENTRY_KINDS.more;
      const payload = datagram.subarray(offset, offset + MAX_ENTRY_BYTES);
      await hostileWrite(descriptor.id, [ENTRY_FIELDS.kind, kind, ENTRY_FIELDS.payload, payload]);
    }
    const [data] = await received;
    assert.ok(data.equals(datagram));

    const probe = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    opened.push(probe);
    probe.on('error', () => undefined);
    const ring = CIRCUIT_KEYS.ring(descriptor.id, 'a2b');
    await assert.rejects(
      probe.xadd(ring, '*', ENTRY_FIELDS.payload, Buffer.alloc(REDIS_PROTO_MAX_BULK_BYTES + 1)),
      /Protocol error|invalid bulk length|Connection is closed/,
    );
    socket.destroy();
  });
});
