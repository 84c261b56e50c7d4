import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { jaegerQueryAuthorization } from '@tenantlab/shared';

import type { InfraComponent } from './child-process.supervisor';
import type { InfraPorts } from './ports';
import type { ReadinessResult } from './wait-until-ready';

// Each probe must settle quickly so a poll loop notices a crash or a deadline promptly.
const PROBE_TIMEOUT_MS = 2_000;

function notReady(error: unknown): ReadinessResult {
  if (!(error instanceof Error)) return { ready: false, detail: String(error) };
  // fetch() only says "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return { ready: false, detail: `${error.message}${cause}` };
}

/** Ready when Redis answers PING (it answers LOADING errors while reading a dump, which counts as not ready). */
export async function probeRedis(port: number, password?: string): Promise<ReadinessResult> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // ioredis's own ready check (INFO) would close the connection on NOAUTH, hiding why; PING says it instead.
    enableReadyCheck: false,
  });
  // Failures also reject connect() or ping() below, but often only as "Connection is closed." or the like; the
  // event says why (ECONNREFUSED, WRONGPASS). Without a listener ioredis would log them too.
  let reason: unknown;
  client.on('error', (error) => {
    reason = error;
  });
  try {
    await client.connect();
    const reply = await client.ping();
    return { ready: reply === 'PONG', detail: reply };
  } catch (error) {
    return notReady(reason ?? error);
  } finally {
    client.disconnect();
  }
}

/**
 * Ready when the broker answers cluster metadata and names an active controller, as clients need; `credentials` are the
 * lab's Kafka admin user's when the broker takes only authenticated clients.
 */
export async function probeKafka(
  port: number,
  credentials?: { username: string; password: string },
): Promise<ReadinessResult> {
  const kafka = new Kafka({
    clientId: 'tenantlab-readiness',
    brokers: [`127.0.0.1:${port}`],
    ...(credentials ? { sasl: { mechanism: 'scram-sha-512' as const, ...credentials } } : {}),
    logLevel: logLevel.NOTHING,
    connectionTimeout: PROBE_TIMEOUT_MS,
    requestTimeout: PROBE_TIMEOUT_MS,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.controller === null || cluster.controller < 0) return { ready: false, detail: 'no active controller' };
    return { ready: true, detail: `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)` };
  } catch (error) {
    return notReady(error);
  } finally {
    await admin.disconnect();
  }
}

/** Ready when the query API lists services, which means storage and the query extension are both up. */
export async function probeJaeger(queryPort: number, password?: string): Promise<ReadinessResult> {
  try {
    const response = await fetch(`http://127.0.0.1:${queryPort}/api/services`, {
      headers: password === undefined ? {} : { authorization: jaegerQueryAuthorization(password) },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return { ready: response.status === 200, detail: `GET /api/services: HTTP ${response.status}` };
  } catch (error) {
    return notReady(error);
  }
}

/**
 * Asks all three components at once, for a status view; never throws. `redisPassword` is the one Redis was started
 * with (`InfraOptions.redisPassword`); without it a Redis that requires one reports "NOAUTH".
 */
export async function checkInfraReady(
  ports: InfraPorts,
  redisPassword?: string,
  jaegerQueryPassword?: string,
): Promise<Record<InfraComponent, ReadinessResult>> {
  const [redis, kafka, jaeger] = await Promise.all([
    probeRedis(ports.redis, redisPassword),
    probeKafka(ports.kafka),
    probeJaeger(ports.jaegerQuery, jaegerQueryPassword),
  ]);
  return { redis, kafka, jaeger };
}
