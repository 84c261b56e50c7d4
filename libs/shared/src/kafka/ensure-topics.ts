import type { Kafka } from 'kafkajs';
import { TOPICS } from './topics';

/**
 * Creates the lab's topics if they do not exist. Relying on auto-creation races: a consumer that subscribes before
 * the first produce gets "This server does not host this topic-partition". Idempotent; safe from every service.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly string[] = Object.values(TOPICS)): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({ topic, numPartitions: 1, replicationFactor: -1 })),
    });
  } finally {
    await admin.disconnect();
  }
}
