import type { Redis } from 'ioredis';

/** What ioredis keeps of a command waiting for its reply. */
interface QueuedCommand {
  command: { reject(error: Error): void };
}

interface CommandQueue {
  length: number;
  shift(): QueuedCommand | undefined;
}

/** The parts of ioredis's client that its own close path uses, private in its typings. */
interface ClientInternals {
  flushQueue(error: Error): void;
  setStatus(status: 'end'): void;
  prevCommandQueue: CommandQueue | null;
}

/** The message ioredis rejects a closed connection's commands with. */
const CONNECTION_CLOSED = 'Connection is closed.';

/**
 * Closes `redis` and rejects every command still waiting on it, which `disconnect()` alone does not always do. ioredis
 * keeps the commands in flight when a connection drops, to send them again once a new one is ready, and a manual close
 * before that (Redis restarted empty, and the VM's old credentials no longer open it) never rejects them. Its close
 * path rejects the rest from the socket's close event, which a client between two reconnect attempts (status
 * `reconnecting`) no longer has a socket to fire: `disconnect()` only cancels the next attempt. Either way the
 * commands waited forever: a VM's rx reader blocked so when its credentials rotated, and never read again.
 */
export function disconnectNow(redis: Redis): void {
  const client = redis as unknown as ClientInternals;
  const error = new Error(CONNECTION_CLOSED);
  const resend = client.prevCommandQueue;
  client.prevCommandQueue = null;
  for (let item = resend?.shift(); item !== undefined; item = resend?.shift()) item.command.reject(error);
  const reconnecting = redis.status === 'reconnecting';
  redis.disconnect();
  if (!reconnecting) return;
  client.flushQueue(error);
  // As its close path does: `end` tells whoever watches the client that it is gone for good.
  client.setStatus('end');
}
