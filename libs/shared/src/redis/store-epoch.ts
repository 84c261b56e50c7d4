import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { REDIS_KEYS } from './redis-keys';

/**
 * What one look at the store's epoch found: `first` when this process had not seen one before, `same` when it is
 * the one seen last, `lost` when it changed or was gone (then this look set a new one, unless another service had).
 */
export type StoreEpochLook = 'first' | 'same' | 'lost';

/**
 * Tells a service that Redis lost its state (issue 10: a Redis that restarts empty, or was flushed), from a key
 * that only a store that was never emptied still holds. Lab Redis keeps no data across restarts, so every restart
 * is a loss; this also tells a FLUSHALL, and would not mistake a restart that kept its data for one. Every trusted
 * service may look: the first to find the key missing sets a new epoch (SET NX GET, one step), and each other finds
 * that one, not its own, so each sees the loss once.
 */
export class StoreEpoch {
  private seen: string | undefined;

  constructor(private readonly redis: Redis) {}

  async look(): Promise<StoreEpochLook> {
    const candidate = randomUUID();
    const previous = (await this.redis.call('SET', REDIS_KEYS.storeEpoch, candidate, 'NX', 'GET')) as string | null;
    const current = previous ?? candidate;
    const seen = this.seen;
    this.seen = current;
    if (seen === undefined) return 'first';
    return current === seen ? 'same' : 'lost';
  }
}
