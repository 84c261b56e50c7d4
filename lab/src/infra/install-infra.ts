import { InfraInstallError } from './infra.errors';
import { installJaeger } from './install-jaeger';
import { type KafkaInstallation, installKafka } from './install-kafka';
import { installRedis } from './install-redis';

export interface InfraInstallation {
  redisServer: string;
  kafka: KafkaInstallation;
  jaeger: string;
}

/**
 * Installs whatever is missing and returns where everything is. The three installs are independent (apt, Maven,
 * Go), so they run in parallel; when all is cached this only checks versions and marker files. A failure is
 * reported only after the other installs finish, so no download or build is left running behind the error.
 */
export async function ensureInfraInstalled(onProgress?: (message: string) => void): Promise<InfraInstallation> {
  const [redis, kafka, jaeger] = await Promise.allSettled([
    installRedis(onProgress),
    installKafka(onProgress),
    installJaeger(onProgress),
  ]);
  if (redis.status === 'fulfilled' && kafka.status === 'fulfilled' && jaeger.status === 'fulfilled') {
    return { redisServer: redis.value, kafka: kafka.value, jaeger: jaeger.value };
  }
  const failures = [redis, kafka, jaeger].flatMap((result): unknown[] =>
    result.status === 'rejected' ? [result.reason] : [],
  );
  if (failures.length === 1) throw failures[0];
  const messages = failures.map((failure: unknown) => (failure instanceof Error ? failure.message : String(failure)));
  throw new InfraInstallError(messages.join('\n\n'), { cause: failures[0] });
}

/** Installs Redis, Kafka and Jaeger if missing; idempotent, and fast when they are already installed. */
export async function installInfra(onProgress?: (message: string) => void): Promise<void> {
  await ensureInfraInstalled(onProgress);
}
