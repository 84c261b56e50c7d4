import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestRedis, type TestRedis, waitFor } from '@tenantlab/lab';
import { createRedisClient, JsonLogger } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { type OperatorUnderTest, startOperator } from '../testing/operator-harness';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Each GET of the big value answers this much. */
const VALUE_BYTES = 512 * KiB;

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** One line of CLIENT LIST per connection, by id. */
async function clients(admin: Redis): Promise<Map<string, string>> {
  const list = String(await admin.call('CLIENT', 'LIST'));
  return new Map(
    list.split('\n').flatMap((line) => (/^id=(\d+) /.exec(line) ? [[/^id=(\d+) /.exec(line)![1], line]] : [])),
  );
}

function flagsOf(line: string | undefined): string {
  return /\bflags=(\S+)/.exec(line ?? '')?.[1] ?? '';
}

/**
 * Redis's `maxmemory-clients` (issue 10): once all clients' buffers together pass it, Redis closes the biggest
 * clients first. A tenant filling its buffers must lose its own connections; the trusted services' connections
 * (createRedisClient, and what is duplicated from it) carry CLIENT NO-EVICT and stay, however big their buffers.
 */
describe('client eviction on a real Redis: tenants may be evicted, services never', () => {
  let redis: TestRedis;
  let admin: Redis;
  let operator: OperatorUnderTest | undefined;
  const logger = new JsonLogger('operator', 'error', (line) => process.stderr.write(line));
  const opened: Redis[] = [];

  before(
    async () => {
      redis = await startTestRedis();
      admin = new Redis(redis.url, { maxRetriesPerRequest: null, connectionName: 'test-admin' });
      admin.on('error', () => undefined);
      await admin.set('big', 'v'.repeat(VALUE_BYTES));
      await admin.call('ACL', 'SETUSER', 'tenant-like', 'on', '>tenant-password', '~big', '+get');
    },
    { timeout: 120_000 },
  );

  after(async () => {
    for (const connection of opened) connection.disconnect();
    await operator?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  it("marks every service connection no-evict: the operator's, a factory client's and its duplicates'", async () => {
    operator = await startOperator(redis.url);
    const service = createRedisClient(redis.url, 'service-under-test', logger);
    const duplicate = service.duplicate({ connectionName: 'service-duplicate' });
    const plain = new Redis(redis.url, { connectionName: 'plain-client' });
    plain.on('error', () => undefined);
    opened.push(service, duplicate, plain);
    await Promise.all([service.ping(), duplicate.ping(), plain.ping()]);
    const lines = await waitFor('the operator connected', 10_000, async () => {
      const all = [...(await clients(admin)).values()];
      return all.some((line) => line.includes(' name=operator ')) ? all : undefined;
    });
    const named = (name: string): string[] => lines.filter((line) => line.includes(` name=${name} `));
    for (const name of ['operator', 'service-under-test', 'service-duplicate']) {
      assert.ok(named(name).length > 0, `${name} is connected`);
      for (const line of named(name)) assert.match(flagsOf(line), /e/, `${name} is no-evict: ${line}`);
    }
    assert.doesNotMatch(flagsOf(named('plain-client')[0]), /e/, 'a client not made by the factory is not');
  });

  it('evicts a tenant whose buffers are huge, and a client without NO-EVICT, but not a service connection', async () => {
    const service = createRedisClient(redis.url, 'service-big-reader', logger);
    const unprotected = new Redis(redis.url, { connectionName: 'unprotected-big-reader', maxRetriesPerRequest: null });
    unprotected.on('error', () => undefined);
    opened.push(service, unprotected);
    let serviceCloses = 0;
    service.on('close', () => (serviceCloses += 1));
    const [serviceId, unprotectedId] = [
      String(await service.call('CLIENT', 'ID')),
      String(await unprotected.call('CLIENT', 'ID')),
    ];
    await admin.call('CLIENT', 'NO-EVICT', 'on');
    await admin.config('SET', 'maxmemory-clients', String(4 * MiB));

    // The tenant pipelines 60 reads of 512 KiB and never reads its socket: 30 MiB of replies, under the 34 MiB
    // output limit of one client, so only maxmemory-clients can stop it.
    const tenant: Socket = connect(redis.port, '127.0.0.1');
    tenant.on('error', () => undefined);
    const tenantClosed = new Promise<void>((resolve) => tenant.once('close', () => resolve()));
    await new Promise<void>((resolve) => tenant.once('connect', resolve));
    tenant.pause();
    tenant.write(resp('AUTH', 'tenant-like', 'tenant-password') + resp('GET', 'big').repeat(60));
    // The service and the unprotected client each read 20 MiB and are slow to take it (their sockets paused): each
    // alone holds more than maxmemory-clients.
    service.stream.pause();
    unprotected.stream.pause();
    // Settled either way, so a failing run reports the assertion below, not a stray rejection after it.
    const serviceReads = Array.from({ length: 40 }, () =>
      service.getBuffer('big').catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    );
    const unprotectedReads = Array.from({ length: 40 }, () => unprotected.getBuffer('big').catch(() => null));

    await waitFor('Redis to evict the tenant and the unprotected client', 15_000, async () => {
      const now = await clients(admin);
      const tenantGone = ![...now.values()].some((line) => line.includes(' user=tenant-like '));
      return tenantGone && !now.has(unprotectedId) ? true : undefined;
    });
    await tenantClosed;
    const evicted = Number(/evicted_clients:(\d+)/.exec(await admin.info('stats'))?.[1] ?? 0);
    assert.ok(evicted >= 2, `Redis counts its evictions: ${evicted}`);

    // The service's connection is the same one, and every read it made is answered in full.
    assert.ok((await clients(admin)).has(serviceId), 'the service connection is still there');
    service.stream.resume();
    unprotected.stream.resume();
    const values = await Promise.all(serviceReads);
    assert.ok(
      values.every((value) => Buffer.isBuffer(value) && value.length === VALUE_BYTES),
      'every read answered in full',
    );
    assert.equal(String(await service.call('CLIENT', 'ID')), serviceId);
    assert.equal(serviceCloses, 0, 'the service connection never closed');
    await Promise.all(unprotectedReads);
  });
});
