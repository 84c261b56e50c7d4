import { Redis } from 'ioredis';
import type { JsonLogger } from '../logging';

/**
 * A trusted service's ioredis client (switch, operator, allocator): keeps reconnecting with capped backoff (Redis
 * restarts must not kill a service), fails commands fast while disconnected, so readiness turns false instead of
 * requests hanging, and is never evicted by Redis's `maxmemory-clients` (see asServiceConnection), nor is any
 * connection made from it with `duplicate()`. Tenant VMs never get one: their connections may be evicted.
 */
export function createRedisClient(url: string, connectionName: string, logger: JsonLogger): Redis {
  const client = new Redis(url, {
    connectionName,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
  });
  return asServiceConnection(client, logger);
}

/**
 * Makes `client` a service connection, and so every connection duplicated from it: connection problems logged (once
 * every 10 s), and `CLIENT NO-EVICT on` sent on every connection it makes (the first and each reconnect). Redis
 * (`maxmemory-clients`, redis-limits.ts) closes the clients whose buffers use most memory first once all clients
 * together pass the limit; a tenant that fills its buffers must lose its own connections, never a service's. Needs
 * the `client` command (the admin user has it; a VM's ACL user does not, vm-redis-rights.int.spec.ts).
 *
 * ioredis emits `connect` a tick after it wrote AUTH and CLIENT SETNAME and before its ready check (INFO) is
 * answered; CLIENT is one of the commands it writes while connecting, so this goes out ahead of any queued command.
 */
export function asServiceConnection(client: Redis, logger: JsonLogger): Redis {
  let lastErrorLoggedAt = 0;
  client.on('error', (error: Error) => {
    // ioredis emits an error per reconnect attempt; once every 10 s says the same.
    if (Date.now() - lastErrorLoggedAt < 10_000) return;
    lastErrorLoggedAt = Date.now();
    logger.record('warn', `Redis connection problem: ${error.message}`, { context: 'redis' });
  });
  let lastFailureLoggedAt = 0;
  client.on('connect', () => {
    client.call('CLIENT', 'NO-EVICT', 'on').catch((error: unknown) => {
      if (Date.now() - lastFailureLoggedAt < 10_000) return;
      lastFailureLoggedAt = Date.now();
      logger.record('warn', `CLIENT NO-EVICT refused; this connection may be evicted: ${String(error)}`, {
        context: 'redis',
      });
    });
  });
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override) => asServiceConnection(duplicate(override), logger);
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
