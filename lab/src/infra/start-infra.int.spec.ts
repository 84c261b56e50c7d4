import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Redis } from 'ioredis';
import { Kafka, type KafkaMessage, Partitioners, logLevel } from 'kafkajs';
import { jaegerIngestAuthorization, jaegerQueryAuthorization } from '@tenantlab/shared';

import type { InfraComponent } from './child-process.supervisor';
import { PortInUseError } from './infra.errors';
import { installInfra } from './install-infra';
import { DEFAULT_INFRA_PORTS, isPortFree, offsetPorts, portClaims } from './ports';
import { checkInfraReady } from './readiness-probes';
import { type StartedInfra, startInfra } from './start-infra';
import { isProcessAlive } from '../lab-state';

// Far from the defaults and from the offsets people use for a second lab, so a running lab never collides; and every
// port below 32768, where Linux's ephemeral range begins (at offset 20 000 Jaeger's query port, 36686, was once found
// held as an outgoing connection's local port).
const PORTS = offsetPorts(DEFAULT_INFRA_PORTS, 15_000);
// A cold machine builds Jaeger from source; a warm one only checks marker files.
const INSTALL_TIMEOUT_MS = 20 * 60_000;

function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The grpc-status of one empty unary gRPC call to `method` at `authority` (plaintext HTTP/2), with `authorization`. */
function grpcStatusOf(authority: string, method: string, authorization?: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${authority}`);
    session.on('error', reject);
    const call = session.request({
      ':method': 'POST',
      ':path': method,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(authorization === undefined ? {} : { authorization }),
    });
    let status: string | undefined;
    const take = (headers: http2.IncomingHttpHeaders): void => {
      const value = headers['grpc-status'];
      if (typeof value === 'string') status = value;
    };
    call.on('response', take);
    call.on('trailers', take);
    call.on('data', () => undefined);
    call.on('error', reject);
    call.on('close', () => {
      session.close();
      resolve(status);
    });
    // An empty message: not compressed (0), length 0.
    call.end(Buffer.alloc(5));
  });
}

describe('startInfra with real Redis 7, Kafka 4 and Jaeger v2', () => {
  const suffix = randomUUID().slice(0, 8);
  // As the lab runs it: Redis's `default` user needs a password.
  const redisPassword = randomBytes(16).toString('hex');
  const jaegerQueryPassword = randomBytes(32).toString('hex');
  const jaegerIngestPassword = randomBytes(32).toString('hex');
  const lineCounts: Record<InfraComponent, number> = { redis: 0, kafka: 0, jaeger: 0 };
  let dataDir: string;
  let infra: StartedInfra;

  before(
    async () => {
      await installInfra((message) => console.log(`# ${message}`));
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenantlab-infra-spec-'));
    },
    { timeout: INSTALL_TIMEOUT_MS },
  );

  after(async () => {
    await infra?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts all three and reports them ready', { timeout: 120_000 }, async () => {
    infra = await startInfra({
      dataDir,
      ports: PORTS,
      redisPassword,
      jaegerQueryPassword,
      jaegerIngestPassword,
      onLine: (component) => lineCounts[component]++,
    });
    assert.equal(infra.redisAdminUrl, `redis://:${redisPassword}@127.0.0.1:21379`);
    assert.deepEqual(infra.urls, {
      redis: 'redis://127.0.0.1:21379',
      kafkaBrokers: '127.0.0.1:24092',
      otlpHttp: 'http://127.0.0.1:19318',
      otlpGrpc: 'http://127.0.0.1:19317',
      jaegerQuery: 'http://127.0.0.1:31686',
    });
    const status = await checkInfraReady(PORTS, redisPassword, jaegerQueryPassword);
    for (const component of ['redis', 'kafka', 'jaeger'] as const) {
      assert.equal(status[component].ready, true, `${component}: ${status[component].detail}`);
      assert.ok(isProcessAlive(infra.pids[component]));
      assert.ok(lineCounts[component] > 0, `no output from ${component}`);
      assert.notEqual(await readFile(path.join(dataDir, 'logs', `${component}.log`), 'utf8'), '');
    }
  });

  it('keeps the Redis password off the command line, in a config file only its owner can read', async () => {
    const argv = await readFile(`/proc/${infra.pids.redis}/cmdline`, 'utf8');
    assert.ok(!argv.includes(redisPassword), "the password is in redis-server's argv");
    const config = path.join(dataDir, 'redis', 'auth.conf');
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.ok((await readFile(config, 'utf8')).includes(redisPassword));
  });

  it('refuses Redis commands without the password', async () => {
    const status = await checkInfraReady(PORTS);
    assert.equal(status.redis.ready, false);
    assert.match(status.redis.detail, /NOAUTH/);
    // Without a ready check, which would close the connection on NOAUTH before the command is sent.
    const anonymous = new Redis(infra.urls.redis, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
    });
    anonymous.on('error', () => undefined);
    try {
      await anonymous.connect();
      await assert.rejects(anonymous.get(`infra-spec:{${suffix}}:greeting`), /NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });

  it('serves Redis SET and GET to its admin', async () => {
    const redis = new Redis(infra.redisAdminUrl, { lazyConnect: true });
    try {
      await redis.connect();
      const key = `infra-spec:{${suffix}}:greeting`;
      await redis.set(key, 'hello', 'EX', 60);
      assert.equal(await redis.get(key), 'hello');
    } finally {
      redis.disconnect();
    }
  });

  it('lets kafkajs 2.2.4 produce, consume in a group and commit offsets', { timeout: 60_000 }, async () => {
    const kafka = new Kafka({
      clientId: `infra-spec-${suffix}`,
      brokers: [infra.urls.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    });
    const topic = `infra-spec.smoke-${suffix}`;
    const groupId = `infra-spec-${suffix}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    // A short long-poll, so disconnect() does not wait out kafkajs's default 5s fetch.
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
    try {
      await admin.connect();
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }), true);

      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'tenant-a', value: 'hello kafka 4' }] });

      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received = new Promise<KafkaMessage>((resolve, reject) => {
        consumer.run({ autoCommit: false, eachMessage: async ({ message }) => resolve(message) }).catch(reject);
      });
      const message = await withDeadline(received, 30_000, 'the consumer group to receive the message');
      assert.equal(message.key?.toString(), 'tenant-a');
      assert.equal(message.value?.toString(), 'hello kafka 4');

      await consumer.commitOffsets([{ topic, partition: 0, offset: (BigInt(message.offset) + 1n).toString() }]);
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.deepEqual(offsets, [{ topic, partitions: [{ partition: 0, offset: '1', metadata: null }] }]);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it("answers the Jaeger query API with the lab's password only, on HTTP and gRPC", async () => {
    const response = await fetch(`${infra.urls.jaegerQuery}/api/services`, {
      headers: { authorization: jaegerQueryAuthorization(jaegerQueryPassword) },
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { data: unknown };
    assert.ok(Array.isArray(body.data) || body.data === null);
    for (const authorization of [undefined, jaegerQueryAuthorization('not-the-password'), 'Bearer some-vm-token']) {
      const refused = await fetch(`${infra.urls.jaegerQuery}/api/traces?service=operator`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(refused.status, 401, `with ${authorization ?? 'no'} credentials`);
      await refused.body?.cancel();
    }
    // The gRPC query API (api_v3, HTTP/2): refused without credentials too, with gRPC's UNAUTHENTICATED (16).
    const grpcStatus = await grpcStatusOf(
      `127.0.0.1:${PORTS.jaegerQuery - 1}`,
      '/jaeger.api_v3.QueryService/GetServices',
    );
    assert.equal(grpcStatus, '16');
  });

  it("takes OTLP exports on HTTP and gRPC with the lab's ingest password only, not the query password", async () => {
    // An empty ExportTraceServiceRequest (no bytes): a valid export of nothing.
    const exportWith = async (authorization: string | undefined): Promise<number> => {
      const answer = await fetch(`${infra.urls.otlpHttp}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', ...(authorization ? { authorization } : {}) },
        body: new Uint8Array(0),
      });
      await answer.body?.cancel();
      return answer.status;
    };
    assert.equal(await exportWith(jaegerIngestAuthorization(jaegerIngestPassword)), 200);
    for (const authorization of [
      undefined,
      jaegerIngestAuthorization('not-the-password'),
      jaegerQueryAuthorization(jaegerQueryPassword),
      `Basic ${Buffer.from(`ingest:${jaegerQueryPassword}`).toString('base64')}`,
      `Bearer ${jaegerIngestPassword}`,
    ]) {
      assert.equal(await exportWith(authorization), 401, `with ${authorization ?? 'no'} credentials`);
    }
    const exportMethod = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
    const grpc = `127.0.0.1:${PORTS.otlpGrpc}`;
    assert.equal(await grpcStatusOf(grpc, exportMethod), '16');
    assert.equal(await grpcStatusOf(grpc, exportMethod, jaegerQueryAuthorization(jaegerQueryPassword)), '16');
    assert.equal(await grpcStatusOf(grpc, exportMethod, jaegerIngestAuthorization(jaegerIngestPassword)), '0');
    // And the ingest password opens no query endpoint.
    const query = await fetch(`${infra.urls.jaegerQuery}/api/services`, {
      headers: { authorization: `Basic ${Buffer.from(`lab:${jaegerIngestPassword}`).toString('base64')}` },
    });
    await query.body?.cancel();
    assert.equal(query.status, 401);
  });

  it('starts a killed Kafka again under supervision, and it keeps its topics', { timeout: 120_000 }, async () => {
    const restarted: { component: string; pid: number }[] = [];
    infra.supervise({ onRestarted: (component, pid) => restarted.push({ component, pid }) });
    process.kill(infra.pids.kafka, 'SIGKILL');
    const deadline = Date.now() + 90_000;
    while (!(infra.restarts().kafka === 1 && (await checkInfraReady(PORTS, redisPassword)).kafka.ready)) {
      assert.ok(Date.now() < deadline, `Kafka not running again within 90 s: ${JSON.stringify(restarted)}`);
      await new Promise((poll) => setTimeout(poll, 250));
    }
    assert.deepEqual(
      restarted.map((r) => r.component),
      ['kafka'],
    );
    assert.ok(isProcessAlive(restarted[0]?.pid ?? 0), 'the new Kafka runs');
    const admin = new Kafka({
      clientId: `infra-spec-${suffix}-2`,
      brokers: [infra.urls.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      assert.ok((await admin.listTopics()).includes(`infra-spec.smoke-${suffix}`), 'the topic made before the crash');
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses a second start on the same ports, naming the component', async () => {
    await assert.rejects(startInfra({ dataDir, ports: PORTS }), (error: unknown) => {
      assert.ok(error instanceof PortInUseError);
      assert.match(error.message, new RegExp(`^Port ${PORTS.redis} for Redis is already in use by another process\\.`));
      return true;
    });
  });

  it('stops everything, leaving no process and no port behind', { timeout: 60_000 }, async () => {
    await infra.stop();
    for (const [component, pid] of Object.entries(infra.pids)) {
      assert.equal(isProcessAlive(pid), false, `${component} (pid ${pid}) is still running`);
    }
    for (const claim of portClaims(PORTS)) {
      assert.equal(await isPortFree(claim.port), true, `${claim.component} still holds port ${claim.port}`);
    }
    await infra.stop();
  });
});
