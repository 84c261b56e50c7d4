import { REDIS_KEYS } from '@tenantlab/shared';
import type { ChainableCommander, Redis } from 'ioredis';

/**
 * The durable side of exactly-once for held frames. A frame held by a port impairment was acknowledged at its tx in
 * the commit that read it, so a switch that dies holding it loses it; it cannot be read again. Instead of holding the
 * acknowledgement (which would keep the entry in the sender's tx, slow the sender and re-deliver a flooded frame's
 * other copies after a restart), the switch keeps, per sender, how many frames it holds in a Redis hash written in the
 * same MULTI as the acknowledgements and writes that change it. The next switch reads what is left there and counts
 * those frames as dropped (`impaired-switch-restart`): lost, but never uncounted.
 */
export class HeldTally {
  constructor(private readonly key: string = REDIS_KEYS.impairmentHeld) {}

  /** Queues the counts (absolute, so writing one twice is harmless) on `multi`; returns how many commands. */
  append(multi: ChainableCommander, changes: readonly [string, number][]): number {
    for (const [vm, held] of changes) {
      if (held > 0) multi.hset(this.key, vm, held);
      else multi.hdel(this.key, vm);
    }
    return changes.length;
  }

  /** What a switch before this one left held, per sender, read and removed at once. */
  async takeLeftOver(redis: Redis): Promise<Map<string, number>> {
    const replies = (await redis.multi().hgetall(this.key).del(this.key).exec()) ?? [];
    const [error, fields] = replies[0] ?? [null, {}];
    if (error) throw error;
    const left = new Map<string, number>();
    for (const [vm, value] of Object.entries(fields as Record<string, string>)) {
      const held = Number(value);
      if (Number.isInteger(held) && held > 0) left.set(vm, held);
    }
    return left;
  }
}
