import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JsonLogger } from '@tenantlab/shared';
import { OPERATOR_CONFIG, OperatorConfig } from '../config/operator.config';
import { PeriodicPass } from '../periodic-pass';
import { Clock, CLOCK, RegistryService } from '../registry/registry.service';
import type { VmView } from '../registry/vm-record';
import { CircuitRecord, endpointVms } from './circuit-record';
import { CircuitTeardownService } from './circuit-teardown.service';
import { CircuitsRepository } from './circuits.repository';

/** A setup takes milliseconds; one still `opening` after this was abandoned (its operator died mid-way). */
export const SETUP_TIMEOUT_MS = 30_000;

/**
 * Ends circuits whose endpoint VM is gone or stopped heartbeating (seed 001: a circuit lives as long as both leases),
 * and finishes teardowns and setups that an operator abandoned. Every CIRCUIT_REAP_INTERVAL_MS; several operators
 * may run it at once, since teardown is idempotent.
 */
@Injectable()
export class CircuitReaperService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly periodic: PeriodicPass;
  /** VMs heartbeat through the operator, so none could while no operator ran: see `reasonToEnd`. */
  private readonly startedAt: number;

  constructor(
    private readonly repository: CircuitsRepository,
    private readonly registry: RegistryService,
    private readonly teardowns: CircuitTeardownService,
    @Inject(OPERATOR_CONFIG)
    private readonly config: Pick<OperatorConfig, 'CIRCUIT_REAP_INTERVAL_MS' | 'VM_LEASE_MS'>,
    @Inject(CLOCK) private readonly now: Clock,
    logger: JsonLogger,
  ) {
    this.startedAt = now();
    this.periodic = new PeriodicPass('circuit reaper', config.CIRCUIT_REAP_INTERVAL_MS, () => this.reapOnce(), logger, {
      context: 'circuits',
      now,
    });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  /** Before Redis closes (that is onApplicationShutdown): stop scheduling and let a running pass finish. */
  async onModuleDestroy(): Promise<void> {
    await this.periodic.stop();
  }

  /** One pass; returns how many circuits it tore down. */
  async reapOnce(): Promise<number> {
    // Circuits first, then VMs: every listed circuit's endpoints were registered before it was created, so a VM
    // missing from the later read really is gone, not just newer than the snapshot.
    const circuits = await this.repository.all();
    if (circuits.length === 0) return 0;
    const vms = new Map((await this.registry.list()).map((vm) => [vm.id, vm]));
    let reaped = 0;
    for (const circuit of circuits) {
      const reason = this.reasonToEnd(circuit, vms);
      if (reason !== undefined && (await this.teardowns.teardown(circuit.id, reason))) reaped++;
    }
    return reaped;
  }

  private reasonToEnd(circuit: CircuitRecord, vms: Map<string, VmView>): string | undefined {
    if (circuit.state === 'closing') return circuit.closeReason;
    if (circuit.state === 'opening' && this.now() - circuit.createdAt > SETUP_TIMEOUT_MS) {
      return 'setup did not complete';
    }
    // A lease that ran out while no operator was there to take heartbeats says nothing about the VM (circuits keep
    // working while the operator restarts, seed 001): a VM is judged dead only once it has had a whole lease to
    // reach this operator.
    const leasesJudged = this.now() - this.startedAt >= this.config.VM_LEASE_MS;
    for (const id of endpointVms(circuit)) {
      const vm = vms.get(id);
      if (!vm) return `peer ${id} was deregistered`;
      if (!vm.alive && leasesJudged) return `peer ${id} stopped heartbeating`;
    }
    return undefined;
  }
}
