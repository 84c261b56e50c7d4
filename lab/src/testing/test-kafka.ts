import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { installKafka } from '../infra/install-kafka';
import { startKafka } from '../infra/kafka.component';
import { DEFAULT_INFRA_PORTS } from '../infra/ports';
import { freeLoopbackPort } from './test-redis';

export interface TestKafka {
  /** `127.0.0.1:<port>`: an open PLAINTEXT broker, no credentials needed. */
  brokers: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A real, private Kafka broker (KRaft, one node) for one integration test file or benchmark: free loopback ports and
 * a temporary data dir, open (PLAINTEXT, no ACLs) as README says tests that start their own Kafka use it. Installs
 * Kafka first if it is missing.
 */
export async function startTestKafka(): Promise<TestKafka> {
  const installation = await installKafka();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenantlab-test-kafka-'));
  const ports = { ...DEFAULT_INFRA_PORTS, kafka: await freeLoopbackPort(), kafkaController: await freeLoopbackPort() };
  const child = await startKafka(installation, { dataDir, ports });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= child.stop().then(() => rm(dataDir, { recursive: true, force: true }));
    return stopping;
  };
  return { brokers: `127.0.0.1:${ports.kafka}`, stop, [Symbol.asyncDispose]: stop };
}
