/**
 * Docker mode's one-shot `kafka-setup` container (run from the telemetry image): as the admin user it creates the
 * lab's topics and the ACLs of KAFKA_GRANTS, as the local lab runner does for its broker, then exits. The services
 * that use Kafka start after it has exited 0 (Compose: `service_completed_successfully`).
 * Environment: KAFKA_BROKERS, KAFKA_USERNAME (admin), KAFKA_PASSWORD.
 */
import { Kafka, logLevel } from 'kafkajs';
import { kafkaCredentialsOf, kafkaEnv } from '../config/common-env';
import { loadConfigOrExit } from '../config/load-config';
import { applyKafkaGrants } from './kafka-acls';
import { kafkaSasl } from './kafka-client.factory';

const ATTEMPTS = 10;

async function main(): Promise<void> {
  const config = loadConfigOrExit('kafka-setup', kafkaEnv);
  const credentials = kafkaCredentialsOf(config);
  if (!credentials) throw new Error('KAFKA_USERNAME and KAFKA_PASSWORD (the admin user) are required');
  const kafka = new Kafka({
    clientId: 'tenantlab-kafka-setup',
    brokers: config.KAFKA_BROKERS,
    sasl: kafkaSasl(credentials),
    connectionTimeout: 3000,
    logLevel: logLevel.WARN,
    retry: { retries: 5, initialRetryTime: 300 },
  });
  for (let attempt = 1; ; attempt++) {
    try {
      await applyKafkaGrants(kafka);
      process.stdout.write('kafka-setup: topics and ACLs applied\n');
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
      process.stderr.write(`kafka-setup: attempt ${attempt} failed (${String(error)}), retrying\n`);
      await new Promise((done) => setTimeout(done, 1000 * attempt));
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`kafka-setup: ${String(error)}\n`);
  process.exit(1);
});
