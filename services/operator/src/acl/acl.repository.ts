import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS, type VmCircuitGrant } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/** What a VM's ACL is built from. */
export interface AclSources {
  /** sha256 of the VM's ACL password; undefined when the VM is not registered (then it has no user). */
  passwordHash?: string;
  /** Its live circuits and the side it holds in each (both, as two grants, when it connected to itself). */
  circuits: VmCircuitGrant[];
}

/**
 * All Redis I/O of VM ACL users. A VM's ACL is derived state: it is rebuilt from the registry record (the password
 * hash) and the circuit index, which this reads, rather than edited, because ACL SETUSER cannot drop one key
 * pattern, only all of them.
 */
@Injectable()
export class AclRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async readSources(vmId: string): Promise<AclSources> {
    // Two slots ({vms} and {circuits}): two reads, not a MULTI. AclService re-reads after writing, so a change
    // between the two reads is caught.
    const [passwordHash, circuitIds] = await Promise.all([
      this.redis.hget(REDIS_KEYS.vm(vmId), 'aclPasswordHash'),
      this.redis.smembers(REDIS_KEYS.vmCircuits(vmId)),
    ]);
    return { passwordHash: passwordHash || undefined, circuits: await this.sidesOf(vmId, circuitIds) };
  }

  /** Which side of each circuit the VM holds, from the circuit records (same slot as the index: one pipeline). */
  private async sidesOf(vmId: string, circuitIds: readonly string[]): Promise<VmCircuitGrant[]> {
    if (circuitIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of circuitIds) pipeline.hmget(REDIS_KEYS.circuit(id), 'aVm', 'bVm');
    const results = (await pipeline.exec()) ?? [];
    return circuitIds.flatMap((id, i) => {
      const [a, b] = (results[i]?.[1] ?? []) as (string | null)[];
      return [...(a === vmId ? [{ id, side: 'a' as const }] : []), ...(b === vmId ? [{ id, side: 'b' as const }] : [])];
    });
  }

  async setUser(user: string, rules: readonly string[]): Promise<void> {
    await this.redis.call('ACL', 'SETUSER', user, ...rules);
  }

  async deleteUser(user: string): Promise<void> {
    await this.redis.call('ACL', 'DELUSER', user);
  }
}
