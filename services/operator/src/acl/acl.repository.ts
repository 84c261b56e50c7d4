import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, REDIS_KEYS } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/** What a VM's ACL is built from. */
export interface AclSources {
  /** sha256 of the VM's ACL password; undefined when the VM is not registered (then it has no user). */
  passwordHash?: string;
  /** Its live circuits, either side. */
  circuitIds: string[];
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
    return { passwordHash: passwordHash || undefined, circuitIds };
  }

  async setUser(user: string, rules: readonly string[]): Promise<void> {
    await this.redis.call('ACL', 'SETUSER', user, ...rules);
  }

  async deleteUser(user: string): Promise<void> {
    await this.redis.call('ACL', 'DELUSER', user);
  }
}
