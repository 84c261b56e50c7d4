import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { InfraComponent } from './child-process.supervisor';
import type { InfraPorts } from './ports';

/** Kafka SCRAM users, name to password; `admin` is the broker's super user. */
export type KafkaUsers = { admin: string } & Record<string, string>;

export interface InfraOptions {
  /** Holds each component's data and generated config, and its log in `logs/`; the lab uses `<repo>/.lab/<profile>/`. */
  dataDir: string;
  ports: InfraPorts;
  /**
   * Password of Redis's `default` (admin) user. Tenant VMs get ACL users of their own from the operator, so the
   * admin user must not be open to anyone on the machine. Unset: no password (only for tools that need none).
   */
  redisPassword?: string;
  /**
   * Kafka's SCRAM users, name to password (`admin` required, the super user): the broker then takes only
   * SASL/SCRAM-SHA-512 clients, with ACLs (kafka-acls.ts) that let each service use only its own topics. Unset: an
   * open PLAINTEXT broker, for tests that start their own Kafka and need no credentials.
   */
  kafkaUsers?: KafkaUsers;
  /**
   * Password of Jaeger's query API (HTTP and gRPC; basic auth, user JAEGER_QUERY_USER): it holds every tenant's
   * traces. Unset: the query API is open (tests that start their own Jaeger).
   */
  jaegerQueryPassword?: string;
  /**
   * Password of Jaeger's OTLP receivers (HTTP and gRPC; basic auth, user JAEGER_INGEST_USER): only the services and
   * the OTLP relay hold it, so a local VM cannot put spans in Jaeger under any name. Unset: the receivers are open.
   */
  jaegerIngestPassword?: string;
  /** Redis's `maxmemory` (bytes, or with kb/mb/gb); default REDIS_DEFAULT_MAXMEMORY. Always with noeviction. */
  redisMaxMemory?: string;
  /** Every line a component prints, for a merged console view; the same lines go to `<dataDir>/logs/<component>.log`. */
  onLine?: (component: InfraComponent, line: string) => void;
  /**
   * A start after the component crashed, the lab still running: its log is appended to (the crash stays readable)
   * and Kafka keeps its topics and offsets. Redis has no persistence, so it comes back empty either way.
   */
  restarting?: boolean;
  /** Install and startup milestones, for a person watching. */
  onProgress?: (message: string) => void;
}

/**
 * Where a component's output goes: `<dataDir>/logs/<component>.log`, beside the services' logs (README: "the full
 * logs stay in `.lab/<profile>/logs/`"). Creates the folder.
 */
export async function infraLogFile(dataDir: string, component: InfraComponent): Promise<string> {
  const dir = path.join(dataDir, 'logs');
  await mkdir(dir, { recursive: true });
  return path.join(dir, `${component}.log`);
}
