import { Injectable } from '@nestjs/common';
import { VmKeysRepository } from './vm-keys.repository';

/**
 * The lifecycle of a VM's own Redis keys (its tx and rx port streams, the switch's consumer group on tx, its inbox).
 * The operator creates them at registration, so the VM's ACL can name them exactly and grant no command that
 * creates, deletes or retypes a key (vm-acl.ts). They are deleted when the VM deregisters, and before a new holder
 * takes over an id whose lease expired, so nobody inherits another's frames or messages.
 */
@Injectable()
export class VmKeysService {
  constructor(private readonly repository: VmKeysRepository) {}

  /**
   * At (re-)registration. The same holder (it presented its current token) keeps its keys; any missing are created
   * again (after Redis lost them, say). A new holder starts empty: the previous holder's connections are closed
   * first, so nothing it writes afterwards survives the deletion.
   */
  async prepare(vmId: string, sameHolder: boolean): Promise<void> {
    if (!sameHolder) {
      await this.repository.disconnect(vmId);
      await this.repository.delete(vmId);
    }
    await this.repository.create(vmId);
  }

  /** After deregistration, once the VM's ACL user is gone (so no late write recreates a key). */
  async remove(vmId: string): Promise<void> {
    await this.repository.delete(vmId);
  }
}
