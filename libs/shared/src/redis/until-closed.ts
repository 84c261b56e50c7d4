import type { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../errors';

/**
 * The connection a command was sent on closed before its reply: Redis may or may not have run it. A dependency
 * failure (503, retriable), not a bug of the caller's or of the service's.
 */
export class RedisConnectionClosedError extends DependencyUnavailableError {
  constructor() {
    super('the connection to Redis closed before the reply came: whether Redis ran the command is unknown');
  }
}

/**
 * `pending`, a command sent on `redis`, or a rejection as soon as that connection closes: once it dropped with the
 * command in flight, whether Redis ran it is unknown, and the caller counts it so. What ioredis does with it next is no
 * answer: a connection that does not resend (`autoResendUnfulfilledCommands: false`, the switch's data path, where a
 * commit run twice would deliver its frames twice) never settles it; one that resends (the default, a VM's) sends it
 * again on the next connection, maybe to another store (Redis restarted empty), whose refusal or reply says nothing
 * of what the first one did with it.
 */
export function untilClosed<T>(redis: Redis, pending: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const closed = (): void => reject(new RedisConnectionClosedError());
    redis.once('close', closed);
    pending.then(resolve, reject).finally(() => redis.off('close', closed));
  });
}
