import { Redis } from 'ioredis';
import type { JsonLogger } from '../logging';

/**
 * An ioredis client that keeps reconnecting with capped backoff (Redis restarts must not kill a service) and fails
 * commands fast while disconnected, so readiness turns false instead of requests hanging.
 */
export function createRedisClient(url: string, connectionName: string, logger: JsonLogger): Redis {
  const client = new Redis(url, {
    connectionName,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
  });
  let lastErrorLoggedAt = 0;
  client.on('error', (error: Error) => {
    // ioredis emits an error per reconnect attempt; once every 10 s says the same.
    if (Date.now() - lastErrorLoggedAt < 10_000) return;
    lastErrorLoggedAt = Date.now();
    logger.record('warn', `Redis connection problem: ${error.message}`, { context: 'redis' });
  });
  return client;
}

/** PING with a deadline; used by readiness checks. */
export async function pingRedis(client: Redis, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const reply = await Promise.race([client.ping(), timeout]);
    if (reply !== 'PONG') throw new Error(`unexpected reply to PING: ${String(reply)}`);
  } finally {
    clearTimeout(timer);
  }
}
