import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CONSUMER_GROUPS, TOPICS } from '@tenantlab/shared';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

import { freeLoopbackPort } from '../testing/test-redis';
import type { SupervisedProcess } from './child-process.supervisor';
import { installKafka } from './install-kafka';
import { startKafka } from './kafka.component';
import { DEFAULT_INFRA_PORTS } from './ports';

const password = (): string => randomBytes(24).toString('hex');
const USERS = { admin: password(), switch: password(), allocator: password(), telemetry: password() };

function client(port: number, user?: { username: string; password: string }, retries = 0): Kafka {
  return new Kafka({
    clientId: `kafka-auth-test-${user?.username ?? 'anonymous'}`,
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries, initialRetryTime: 200 },
    ...(user ? { sasl: { mechanism: 'scram-sha-512' as const, ...user } } : {}),
  });
}

async function produce(kafka: Kafka, topic: string, value: string): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'tenant-a', value }] });
  } finally {
    await producer.disconnect();
  }
}

/** The first value `kafka`'s consumer in `groupId` reads from `topic` that satisfies `wanted`, within 20 s. */
async function consumeOne(kafka: Kafka, topic: string, groupId: string, wanted: string): Promise<string> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 20 s`)), 20_000);
      consumer.on(consumer.events.CRASH, (event) => {
        // A retriable crash (a fresh broker's coordinator still loading its group, say) is restarted by kafkajs
        // itself; only a refusal it gives up on (authentication, authorization) ends the read.
        if (event.payload.restart) return;
        clearTimeout(timer);
        reject(event.payload.error);
      });
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            const value = message.value?.toString() ?? '';
            if (value !== wanted) return;
            clearTimeout(timer);
            resolve(value);
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Kafka's refusals: a failed SASL handshake or authentication, or the authorizer's "not authorized". */
const REFUSED = /SASL|authentication|AUTHORIZATION_FAILED|not authorized|closed connection|connection closed/i;

describe('a lab Kafka with users (SASL/SCRAM and ACLs)', { timeout: 240_000 }, () => {
  let dataDir: string;
  let kafka: SupervisedProcess | undefined;
  let port: number;
  // Retries for the allowed paths only: the broker creates its offsets topic on a group's first use.
  const as = (username: keyof typeof USERS, retries = 0): Kafka =>
    client(port, { username, password: USERS[username] }, retries);

  let restart: () => Promise<SupervisedProcess>;

  before(async () => {
    const installation = await installKafka();
    // A space in the path: the storage tool's argument file must quote it.
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenantlab kafka-auth-'));
    port = await freeLoopbackPort();
    const ports = { ...DEFAULT_INFRA_PORTS, kafka: port, kafkaController: await freeLoopbackPort() };
    kafka = await startKafka(installation, { dataDir, ports, kafkaUsers: USERS });
    restart = () => startKafka(installation, { dataDir, ports, kafkaUsers: USERS, restarting: true });
  });

  after(async () => {
    await kafka?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lets the switch publish a trace that telemetry consumes with its group', async () => {
    const value = `trace-${Date.now()}`;
    await produce(as('switch'), TOPICS.packetTraces, value);
    assert.equal(await consumeOne(as('telemetry', 8), TOPICS.packetTraces, CONSUMER_GROUPS.telemetry, value), value);
  });

  it('keeps the passwords in owner-only files: server.properties 0600, no argument file left', async () => {
    const dir = path.join(dataDir, 'kafka');
    for (const file of ['server.properties', 'format.properties']) {
      assert.equal((await stat(path.join(dir, file))).mode & 0o777, 0o600, file);
    }
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.args')),
      [],
    );
  });

  it('refuses a client without credentials, to produce and to consume', async () => {
    await assert.rejects(produce(client(port), TOPICS.packetTraces, 'forged'), REFUSED);
    await assert.rejects(consumeOne(client(port), TOPICS.packetTraces, 'e2e-anonymous', 'x'), REFUSED);
  });

  it('refuses a made-up user, and a real user with a wrong password', async () => {
    const madeUp = client(port, { username: 'vm-a1', password: password() });
    await assert.rejects(produce(madeUp, TOPICS.packetTraces, 'forged'), REFUSED);
    const wrong = client(port, { username: 'switch', password: password() });
    await assert.rejects(produce(wrong, TOPICS.packetTraces, 'forged'), REFUSED);
  });

  it("seed 004's loop: the switch writes utility reports the allocator reads in its group; nobody else may", async () => {
    const value = `report-${Date.now()}`;
    await produce(as('switch'), TOPICS.utilityReports, value);
    assert.equal(await consumeOne(as('allocator', 8), TOPICS.utilityReports, CONSUMER_GROUPS.allocator, value), value);
    await produce(as('allocator'), TOPICS.reallocationDecisions, `decision-${Date.now()}`);
    const denied = /AUTHORIZATION_FAILED|authorized/i;
    await assert.rejects(produce(as('allocator'), TOPICS.utilityReports, 'forged'), denied);
    await assert.rejects(produce(as('telemetry'), TOPICS.utilityReports, 'forged'), denied);
    await assert.rejects(produce(as('switch'), TOPICS.reallocationDecisions, 'forged'), denied);
    // The allocator just used this group, so its coordinator is loaded: for the switch, which has no right on any
    // group, kafkajs reports the broker's refusal to name the coordinator as "Failed to find group coordinator".
    await assert.rejects(
      consumeOne(as('switch'), TOPICS.utilityReports, CONSUMER_GROUPS.allocator, 'x'),
      /AUTHORIZATION_FAILED|authorized|GroupCoordinatorNotFound/i,
    );
    // A tenant has no Kafka user at all: a made-up one is refused before any ACL is asked.
    const tenant = client(port, { username: 'vm-a1', password: password() });
    await assert.rejects(produce(tenant, TOPICS.utilityReports, 'forged'), REFUSED);
    await assert.rejects(consumeOne(tenant, TOPICS.utilityReports, CONSUMER_GROUPS.allocator, 'x'), REFUSED);
  });

  it('lets each service do only its own part: telemetry cannot forge a trace, the allocator cannot read them', async () => {
    await assert.rejects(produce(as('telemetry'), TOPICS.packetTraces, 'forged'), /AUTHORIZATION_FAILED|authorized/i);
    await assert.rejects(produce(as('allocator'), TOPICS.packetTraces, 'forged'), /AUTHORIZATION_FAILED|authorized/i);
    await assert.rejects(
      consumeOne(as('allocator'), TOPICS.packetTraces, CONSUMER_GROUPS.telemetry, 'x'),
      /AUTHORIZATION_FAILED|authorized/i,
    );
  });

  it('keeps its users and grants when started again after a crash, and still refuses the anonymous', async () => {
    const crashed = kafka;
    assert.ok(crashed);
    process.kill(crashed.pid, 'SIGKILL');
    await crashed.exited;
    kafka = await restart();
    const value = `after-restart-${Date.now()}`;
    await produce(as('switch', 8), TOPICS.packetTraces, value);
    assert.equal(await consumeOne(as('telemetry', 8), TOPICS.packetTraces, CONSUMER_GROUPS.telemetry, value), value);
    await assert.rejects(produce(client(port), TOPICS.packetTraces, 'forged'), REFUSED);
  });
});
