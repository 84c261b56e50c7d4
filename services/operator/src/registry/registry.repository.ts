import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import { VmRecord } from './vm-record';

/**
 * All Redis I/O of the VM registry. Records are hashes; the index is a sorted set by registration time; a token
 * index maps the sha256 of each VM's API token to its id. All share the tag `{vms}`, so each MULTI is one slot.
 */
@Injectable()
export class RegistryRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async find(id: string): Promise<VmRecord | undefined> {
    const hash = await this.redis.hgetall(REDIS_KEYS.vm(id));
    return toRecord(hash);
  }

  async findIdByTokenHash(tokenHash: string): Promise<string | undefined> {
    return (await this.redis.get(REDIS_KEYS.vmToken(tokenHash))) ?? undefined;
  }

  /** Writes the record; `replacedTokenHash` is the token it replaces, which stops naming the VM in the same step. */
  async save(record: VmRecord, replacedTokenHash?: string): Promise<void> {
    const transaction = this.redis.multi();
    if (replacedTokenHash !== undefined && replacedTokenHash !== record.tokenHash) {
      transaction.del(REDIS_KEYS.vmToken(replacedTokenHash));
    }
    await transaction
      .hset(REDIS_KEYS.vm(record.id), {
        id: record.id,
        tenant: record.tenant,
        url: record.url,
        registeredAt: record.registeredAt,
        lastHeartbeatAt: record.lastHeartbeatAt,
        tokenHash: record.tokenHash,
        aclPasswordHash: record.aclPasswordHash,
        ...(record.vlan === undefined ? {} : { vlan: record.vlan }),
      })
      .zadd(REDIS_KEYS.vmIndex, 'NX', record.registeredAt, record.id)
      .set(REDIS_KEYS.vmToken(record.tokenHash), record.id)
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

  async remove(record: Pick<VmRecord, 'id' | 'tokenHash'>): Promise<boolean> {
    const results = await this.redis
      .multi()
      .del(REDIS_KEYS.vm(record.id))
      .zrem(REDIS_KEYS.vmIndex, record.id)
      .del(REDIS_KEYS.vmToken(record.tokenHash))
      .exec();
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
    // Records written before VMs had credentials have none: no token matches them until they register again.
    tokenHash: hash['tokenHash'] ?? '',
    aclPasswordHash: hash['aclPasswordHash'] ?? '',
    ...(hash['vlan'] ? { vlan: Number(hash['vlan']) } : {}),
  };
}
