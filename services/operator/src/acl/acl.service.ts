import { Injectable } from '@nestjs/common';
import { DependencyUnavailableError, vmAclRules, vmAclUser } from '@tenantlab/shared';
import { AclRepository } from './acl.repository';

/** Enough for any realistic interleaving; more rounds would mean the VM's circuits are churning without pause. */
const MAX_SYNC_ROUNDS = 5;

/** Keeps each VM's Redis ACL user equal to what the registry and circuit records say it may touch. */
@Injectable()
export class AclService {
  /** The sync of each VM under way (and those queued behind it), so syncs of one VM run one at a time. */
  private readonly syncs = new Map<string, Promise<void>>();

  constructor(private readonly repository: AclRepository) {}

  /**
   * Rebuilds the VM's user from current state, or deletes it when the VM is not registered. Idempotent.
   *
   * Syncs of one VM run one after the other in this process. Were they to overlap, one that read the state before a
   * new circuit was indexed (a teardown's, say) could write its stale rules after a connect's sync had written the
   * new grant and returned, and the VM, told its circuit was ready, would meet NOPERM until the stale sync noticed.
   * After writing, a sync also reads the state again and writes again if it changed meanwhile, so the last write of
   * any sync matches the latest state even across operator processes.
   */
  async syncVm(vmId: string): Promise<void> {
    const queued = (this.syncs.get(vmId) ?? Promise.resolve())
      .catch(() => undefined) // an earlier sync's failure is its caller's; this one starts afresh
      .then(() => this.syncNow(vmId));
    this.syncs.set(vmId, queued);
    try {
      await queued;
    } finally {
      if (this.syncs.get(vmId) === queued) this.syncs.delete(vmId);
    }
  }

  private async syncNow(vmId: string): Promise<void> {
    const user = vmAclUser(vmId);
    let written: string | undefined;
    for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
      const { passwordHash, circuits } = await this.repository.readSources(vmId);
      const rules =
        passwordHash === undefined ? undefined : vmAclRules(vmId, { passwordSha256: passwordHash }, circuits);
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
