import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** 32 random bytes, 64 hex digits: URL-safe as it is, so it goes into `redis://:<password>@…` unescaped. */
const SECRET_BYTES = 32;
const SECRET_PATTERN = /^[0-9a-f]{32,}$/;
/** A secret's name is its file name in the lab's data dir: no path separators, nothing hidden. */
const SECRET_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** The file in a lab's data dir (`.lab/<profile>/`) that holds the lab secret `name`. */
export function labSecretFile(dataDir: string, name: string): string {
  if (!SECRET_NAME_PATTERN.test(name)) throw new Error(`invalid lab secret name "${name}"`);
  return join(dataDir, name);
}

/**
 * The profile's secret `name`, created on first use as 64 random hex digits in an owner-only file. It stays when the
 * lab stops, so `status` from another terminal can authenticate its probes and the next `up` of the profile reuses it.
 */
export function ensureLabSecret(dataDir: string, name: string): string {
  const file = labSecretFile(dataDir, name);
  let secret = readLabSecret(dataDir, name);
  if (secret === undefined) {
    secret = randomBytes(SECRET_BYTES).toString('hex');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  }
  // writeFileSync's mode applies only when it creates the file; one that was copied or edited may be wider.
  chmodSync(file, 0o600);
  return secret;
}

/** Writes `value` as the profile's secret `name` (owner-only), for a secret derived from others rather than drawn. */
export function writeLabSecret(dataDir: string, name: string, value: string): void {
  const file = labSecretFile(dataDir, name);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The profile's secret `name`, or undefined when its data dir holds none (or something that is not one). */
export function readLabSecret(dataDir: string, name: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(labSecretFile(dataDir, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const secret = text.trim();
  return SECRET_PATTERN.test(secret) ? secret : undefined;
}

const REDIS_ADMIN_PASSWORD = 'redis-admin-password';

/**
 * The password of Jaeger's query API in a local lab (user JAEGER_QUERY_USER): every tenant's traces are there, and
 * locally a VM reaches every port on 127.0.0.1. Only the lab's tools and telemetry's dashboard get it.
 */
export const JAEGER_QUERY_PASSWORD = 'jaeger-query-password';

export function ensureJaegerQueryPassword(dataDir: string): string {
  return ensureLabSecret(dataDir, JAEGER_QUERY_PASSWORD);
}

export function readJaegerQueryPassword(dataDir: string): string | undefined {
  return readLabSecret(dataDir, JAEGER_QUERY_PASSWORD);
}

/**
 * The password of Jaeger's OTLP receivers in a local lab (user JAEGER_INGEST_USER): locally every VM reaches
 * 127.0.0.1, and a span sent straight to Jaeger could name any service. Only the services and the OTLP relay (which
 * pins each VM's spans to that VM) get it.
 */
export const JAEGER_INGEST_PASSWORD = 'jaeger-ingest-password';

export function ensureJaegerIngestPassword(dataDir: string): string {
  return ensureLabSecret(dataDir, JAEGER_INGEST_PASSWORD);
}

/**
 * The file holding the lab's Redis admin password: the password of Redis's `default` user, which only the lab runner
 * and the trusted services (operator, switch, allocator, telemetry) get.
 */
export function redisAdminPasswordFile(dataDir: string): string {
  return labSecretFile(dataDir, REDIS_ADMIN_PASSWORD);
}

export function ensureRedisAdminPassword(dataDir: string): string {
  return ensureLabSecret(dataDir, REDIS_ADMIN_PASSWORD);
}

export function readRedisAdminPassword(dataDir: string): string | undefined {
  return readLabSecret(dataDir, REDIS_ADMIN_PASSWORD);
}
