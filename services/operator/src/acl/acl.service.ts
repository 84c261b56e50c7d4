import { Injectable } from '@nestjs/common';
import { DependencyUnavailableError, vmAclRules, vmAclUser } from '@tenantlab/shared';
import { AclRepository } from './acl.repository';

/** Enough for any realistic interleaving; more rounds would mean the VM's circuits are churning without pause. */
const MAX_SYNC_ROUNDS = 5;

/** Keeps each VM's Redis ACL user equal to what the registry and circuit records say it may touch. */
@Injectable()
export class AclService {
  constructor(private readonly repository: AclRepository) {}

  /**
   * Rebuilds the VM's user from current state, or deletes it when the VM is not registered. Idempotent, and safe
   * when several run at once (requests, the reaper, other operators): after writing, it reads the state again and
   * writes again if it changed meanwhile, so the last write of any sync always matches the latest state.
   */
  async syncVm(vmId: string): Promise<void> {
    const user = vmAclUser(vmId);
    let written: string | undefined;
    for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
      const { passwordHash, circuitIds } = await this.repository.readSources(vmId);
      const rules =
        passwordHash === undefined ? undefined : vmAclRules(vmId, { passwordSha256: passwordHash }, circuitIds);
      const desired = rules?.join(' ') ?? 'deleted';
      if (desired === written) return;
      if (rules) await this.repository.setUser(user, rules);
      else await this.repository.deleteUser(user);
      written = desired;
    }
    throw new DependencyUnavailableError(
      `the Redis ACL of VM ${vmId} kept changing while it was being written (${MAX_SYNC_ROUNDS} rounds); try again`,
    );
  }
}
