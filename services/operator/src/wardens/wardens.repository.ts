import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/** What a warden did to a VM, as GET /circuits shows it to that VM. */
export interface WardenCounts {
  /** Circuits of this VM the ring warden reset because a ring was over its capacity. */
  ringResets: number;
  /** Redis connections of this VM's user the connection warden closed because it had more than its cap. */
  connectionsClosed: number;
  /** Why the last of them happened. */
  lastReason?: string;
}

/** A ring's size as the ring warden sees it: XLEN, and MEMORY USAGE estimated from a few stream nodes. */
export interface RingSize {
  entries: number;
  bytes: number;
}

/** One client connection of Redis, from CLIENT LIST. */
export interface RedisClientInfo {
  id: string;
  user: string;
}

/** Stream nodes MEMORY USAGE looks at to estimate a ring's bytes (Redis's default is 5): cheap, O(1) per ring. */
const SAMPLED_NODES = 5;

/** All Redis I/O of the wardens: ring sizes, the client list, killing connections, and their counts per VM. */
@Injectable()
export class WardensRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /** XLEN and an estimate of MEMORY USAGE of every key given, in one round trip; 0 and 0 for a key that is gone. */
  async ringSizes(keys: readonly string[]): Promise<RingSize[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.xlen(key).call('MEMORY', 'USAGE', key, 'SAMPLES', SAMPLED_NODES);
    const replies = (await pipeline.exec()) ?? [];
    return keys.map((_, i) => ({
      entries: Number(replies[2 * i]?.[1] ?? 0) || 0,
      bytes: Number(replies[2 * i + 1]?.[1] ?? 0) || 0,
    }));
  }

  /** MEMORY USAGE over every node of the stream (O(nodes)): only to confirm an estimate that was over. */
  async exactBytes(key: string): Promise<number> {
    return Number(await this.redis.call('MEMORY', 'USAGE', key, 'SAMPLES', 0)) || 0;
  }

  /** Every client connection and the ACL user it is logged in as. */
  async clients(): Promise<RedisClientInfo[]> {
    const list = String(await this.redis.call('CLIENT', 'LIST'));
    return list.split('\n').flatMap((line) => {
      const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
      const user = /(?:^| )user=(\S+)/.exec(line)?.[1];
      return id && user ? [{ id, user }] : [];
    });
  }

  /** How many live circuits each VM is an endpoint of (its grant set), in one round trip. */
  async circuitCounts(vms: readonly string[]): Promise<number[]> {
    if (vms.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const vm of vms) pipeline.scard(REDIS_KEYS.vmCircuits(vm));
    return ((await pipeline.exec()) ?? []).map(([, count]) => Number(count) || 0);
  }

  /** Closes these client connections; returns how many were still there. */
  async kill(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.client('KILL', 'ID', id);
    return ((await pipeline.exec()) ?? []).reduce((sum, [, killed]) => sum + (Number(killed) || 0), 0);
  }

  async count(vm: string, what: 'ring-resets' | 'connections-closed', by: number, reason: string): Promise<void> {
    await this.redis
      .multi()
      .hincrby(REDIS_KEYS.wardenCounts, `${what}:${vm}`, by)
      .hset(REDIS_KEYS.wardenCounts, `last-reason:${vm}`, reason)
      .exec();
  }

  async countsOf(vm: string): Promise<WardenCounts> {
    const [ringResets, connectionsClosed, lastReason] = await this.redis.hmget(
      REDIS_KEYS.wardenCounts,
      `ring-resets:${vm}`,
      `connections-closed:${vm}`,
      `last-reason:${vm}`,
    );
    return {
      ringResets: Number(ringResets ?? 0),
      connectionsClosed: Number(connectionsClosed ?? 0),
      ...(lastReason ? { lastReason } : {}),
    };
  }
}
