import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { VmRecord } from './vm-record';

/** All Redis I/O of the VM registry. Records are hashes; the index is a sorted set by registration time. */
@Injectable()
export class RegistryRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async find(id: string): Promise<VmRecord | undefined> {
    const hash = await this.redis.hgetall(REDIS_KEYS.vm(id));
    return toRecord(hash);
  }

  async save(record: VmRecord): Promise<void> {
    await this.redis
      .multi()
      .hset(REDIS_KEYS.vm(record.id), {
        id: record.id,
        tenant: record.tenant,
        url: record.url,
        registeredAt: record.registeredAt,
        lastHeartbeatAt: record.lastHeartbeatAt,
      })
      .zadd(REDIS_KEYS.vmIndex, 'NX', record.registeredAt, record.id)
      .exec();
  }

  /** Returns false when the VM is not registered (so the caller can tell it to register again). */
  async touch(id: string, at: number): Promise<boolean> {
    // HSET only if the hash exists: a heartbeat must not resurrect a VM that was removed.
    const updated = await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastHeartbeatAt', ARGV[1]) return 1 end return 0",
      1,
      REDIS_KEYS.vm(id),
      at,
    );
    return updated === 1;
  }

  async remove(id: string): Promise<boolean> {
    const results = await this.redis.multi().del(REDIS_KEYS.vm(id)).zrem(REDIS_KEYS.vmIndex, id).exec();
    return results?.[0]?.[1] === 1;
  }

  async list(): Promise<VmRecord[]> {
    const ids = await this.redis.zrange(REDIS_KEYS.vmIndex, 0, -1);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(REDIS_KEYS.vm(id));
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([, hash]) => toRecord(hash as Record<string, string>) ?? []);
  }
}

function toRecord(hash: Record<string, string>): VmRecord | undefined {
  if (!hash['id'] || !hash['tenant'] || !hash['url']) return undefined;
  return {
    id: hash['id'],
    tenant: hash['tenant'],
    url: hash['url'],
    registeredAt: Number(hash['registeredAt']),
    lastHeartbeatAt: Number(hash['lastHeartbeatAt']),
  };
}
