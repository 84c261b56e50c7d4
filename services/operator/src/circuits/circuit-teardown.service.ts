import { Injectable, OnModuleInit } from '@nestjs/common';
import { JsonLogger } from '@tenantlab/shared';
import { AclService } from '../acl/acl.service';
import { RegistryService } from '../registry/registry.service';
import { endpointVms } from './circuit-record';
import { CircuitsRepository } from './circuits.repository';

/**
 * The one way circuits end (DELETE, deregistration, the lease reaper, a failed setup). Idempotent and safe to run
 * concurrently for the same circuit, from one operator or several: each step either repeats harmlessly or only
 * takes effect once.
 */
@Injectable()
export class CircuitTeardownService implements OnModuleInit {
  constructor(
    private readonly repository: CircuitsRepository,
    private readonly acl: AclService,
    private readonly registry: RegistryService,
    private readonly logger: JsonLogger,
  ) {}

  onModuleInit(): void {
    this.registry.onRelease((vm, reason) => this.releaseVm(vm, reason));
  }

  /**
   * Revokes first, then deletes: once the grants are gone no late write can recreate a key, so nothing is left
   * behind. Returns true for the caller that finished it (and told the endpoints), false when it was already gone.
   * `notify: false` is for a setup that failed before the listener heard of the circuit.
   */
  async teardown(circuitId: string, reason: string, options: { notify?: boolean } = {}): Promise<boolean> {
    const record = await this.repository.find(circuitId);
    if (!record) return false;
    const closeReason = await this.repository.beginTeardown(record, reason);
    if (closeReason === undefined) return false;
    const vms = endpointVms(record);
    await Promise.all(vms.map((vm) => this.acl.syncVm(vm)));
    await this.repository.deleteKeys(circuitId);
    if (!(await this.repository.finishTeardown(circuitId))) return false;
    this.logger.record('info', `circuit ${circuitId} torn down: ${closeReason}`, {
      context: 'circuits',
      circuit: circuitId,
      vms,
    });
    if (options.notify ?? true) {
      for (const vm of vms) {
        if (!(await this.registry.lookup(vm))) continue;
        await this.repository.appendToInbox(vm, { type: 'circuit.closed', circuitId, reason: closeReason });
      }
    }
    return true;
  }

  /** Everything a VM held: its circuits (peers are told why), its listeners and its inbox. */
  async releaseVm(vm: { id: string; tenant: string }, reason: string): Promise<void> {
    for (const circuit of await this.repository.circuitsOf(vm.id)) await this.teardown(circuit.id, reason);
    for (const service of await this.repository.servicesOf(vm.id)) {
      await this.repository.removeListener(vm.tenant, service, vm.id);
    }
    await this.repository.deleteInbox(vm.id);
  }
}
