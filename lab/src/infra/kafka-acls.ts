import { applyKafkaGrants } from '@tenantlab/shared';
import { Kafka, logLevel } from 'kafkajs';

/** As admin, applies the lab's topics and grants (KAFKA_GRANTS, shared with Docker mode) to a local broker. */
export async function applyKafkaAcls(port: number, admin: { username: string; password: string }): Promise<void> {
  const kafka = new Kafka({
    clientId: 'tenantlab-acls',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: 'scram-sha-512', username: admin.username, password: admin.password },
    retry: { retries: 5 },
  });
  await applyKafkaGrants(kafka);
}
