import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JsonLogger, vmAclUser } from '@tenantlab/shared';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { RegistryService } from '../registry/registry.service';
import { PeriodicPass } from '../periodic-pass';
import { WardensRepository } from './wardens.repository';

/**
 * Caps each VM's Redis connections (issue 10). Redis has no per-user connection limit, and every connection holds
 * buffers (up to client-query-buffer-limit and client-output-buffer-limit each, redis-limits.ts), so every
 * WARDEN_INTERVAL_MS this lists Redis's clients (CLIENT LIST, O(clients)) and closes a VM user's newest connections
 * beyond its cap: VM_REDIS_CONNECTIONS, plus one per live circuit the VM is an endpoint of (a VM opens one blocking
 * connection per circuit it reads; its commands, vNIC and inbox connections are within the base). The oldest are
 * kept, which a VM opened first (commands, vNIC). Each closing is counted for the VM (GET /circuits:
 * `warden.connectionsClosed`, with the last reason).
 */
@Injectable()
export class ConnectionWardenService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly periodic: PeriodicPass;

  constructor(
    private readonly wardens: WardensRepository,
    private readonly registry: RegistryService,
    @Inject(OPERATOR_CONFIG)
    private readonly config: Pick<OperatorConfig, 'WARDEN_INTERVAL_MS' | 'VM_REDIS_CONNECTIONS'>,
    private readonly logger: JsonLogger,
  ) {
    this.periodic = new PeriodicPass('connection warden', config.WARDEN_INTERVAL_MS, () => this.checkOnce(), logger, {
      context: 'wardens',
    });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.periodic.stop();
  }

  /** One pass; returns how many connections it closed. */
  async checkOnce(): Promise<number> {
    const byUser = new Map<string, string[]>();
    for (const client of await this.wardens.clients()) {
      if (!client.user.startsWith('vm-')) continue;
      byUser.set(client.user, [...(byUser.get(client.user) ?? []), client.id]);
    }
    if (byUser.size === 0) return 0;
    const vms = (await this.registry.list()).filter((vm) => byUser.has(vmAclUser(vm.id)));
    const circuits = await this.wardens.circuitCounts(vms.map((vm) => vm.id));
    let closed = 0;
    for (const [i, vm] of vms.entries()) {
      const ids = byUser.get(vmAclUser(vm.id)) ?? [];
      const cap = this.config.VM_REDIS_CONNECTIONS + (circuits[i] ?? 0);
      if (ids.length <= cap) continue;
      const newest = ids.sort((x, y) => Number(x) - Number(y)).slice(cap);
      const killed = await this.wardens.kill(newest);
      closed += killed;
      const reason =
        `connection warden: VM ${vm.id} had ${ids.length} Redis connections, over its cap of ${cap} ` +
        `(VM_REDIS_CONNECTIONS ${this.config.VM_REDIS_CONNECTIONS} + ${circuits[i] ?? 0} circuit(s)); closed the newest ${killed}`;
      await this.wardens.count(vm.id, 'connections-closed', killed, reason);
      this.logger.record('warn', reason, { context: 'wardens' });
    }
    return closed;
  }
}
