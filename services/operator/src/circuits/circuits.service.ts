import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  CircuitDescriptor,
  ConflictError,
  DEFAULT_RING_CAPACITY,
  DependencyUnavailableError,
  JsonLogger,
  NotFoundError,
} from '@tenantlab/shared';
import { AclService } from '../acl/acl.service';
import { OPERATOR_CONFIG, OperatorConfig } from '../config/operator.config';
import { Clock, CLOCK, RegistryService } from '../registry/registry.service';
import { evaluatePolicy } from './circuit-policy';
import { TenantsService } from '../tenants/tenants.service';
import { circuitCharges, describeQuotaExceeded, type QuotaLimits } from './circuit-quota';
import { CircuitRecord, describeCircuit, endpointVms, Listener } from './circuit-record';
import { CircuitTarget, parseTarget } from './circuit-target';
import { CircuitTeardownService } from './circuit-teardown.service';
import { PolicyDeniedError, QuotaExceededError } from './circuit.errors';
import { CircuitsRepository } from './circuits.repository';
import { CreateCircuitDto } from './dto/create-circuit.dto';

/** The VM making a request, as VmAuthGuard established it. */
export interface CallerIdentity {
  id: string;
  tenant: string;
}

type CircuitsConfig = Pick<OperatorConfig, 'CIRCUIT_POLICY' | 'MAX_CIRCUITS_PER_VM' | 'TENANT_RING_BYTES'> &
  Partial<Pick<OperatorConfig, 'VM_RING_BYTES' | 'TENANT_RING_ENTRIES' | 'VM_RING_ENTRIES' | 'TENANT_MAX_CIRCUITS'>>;

/**
 * The operator as circuit broker (seed 001): resolves a target to a listener, checks policy and quotas once, sets
 * the circuit up (keys, grants, the listener's notice) all or nothing, and hands the connecting VM its descriptor.
 * After that the operator is off the data path until teardown.
 */
@Injectable()
export class CircuitsService {
  constructor(
    private readonly repository: CircuitsRepository,
    private readonly registry: RegistryService,
    private readonly acl: AclService,
    private readonly teardowns: CircuitTeardownService,
    @Inject(OPERATOR_CONFIG) private readonly config: CircuitsConfig,
    @Inject(CLOCK) private readonly now: Clock,
    private readonly logger: JsonLogger,
    @Optional() private readonly tenants?: TenantsService,
  ) {}

  async connect(caller: CallerIdentity, request: CreateCircuitDto): Promise<CircuitDescriptor> {
    const listener = await this.resolveTarget(caller, parseTarget(request.target));
    const capacity = request.capacity ? { ...request.capacity } : { ...DEFAULT_RING_CAPACITY };
    const record: CircuitRecord = {
      id: randomUUID(),
      mode: request.mode,
      service: listener.service,
      capacity,
      a: { vm: caller.id, tenant: caller.tenant },
      b: { vm: listener.vm, tenant: listener.tenant },
      createdAt: this.now(),
      state: 'opening',
    };
    const refused = await this.repository.create(record, circuitCharges(record, await this.quotaLimits(record)));
    if (refused) throw new QuotaExceededError(describeQuotaExceeded(refused.exceeded, refused.used));

    let announced = false;
    try {
      await this.repository.createKeys(record);
      await Promise.all(endpointVms(record).map((vm) => this.acl.syncVm(vm)));
      await this.repository.appendToInbox(record.b.vm, {
        type: 'circuit.incoming',
        circuit: describeCircuit(record, 'b'),
      });
      announced = true;
      if (!(await this.repository.commit(record.id))) {
        throw new ConflictError(
          `circuit to ${listener.vm}/${listener.service} was torn down while it was being set up (an endpoint stopped heartbeating or left); try again`,
        );
      }
    } catch (error) {
      // All or nothing: no record, keys, grants or quota may outlive a failed setup. If this undo fails too, the
      // reaper finishes it (the record stays `opening` past the setup timeout, or is already `closing`).
      await this.teardowns.teardown(record.id, 'setup failed', { notify: announced }).catch((undo: unknown) =>
        this.logger.record('warn', `could not undo the failed setup of circuit ${record.id}: ${String(undo)}`, {
          context: 'circuits',
        }),
      );
      throw error;
    }
    this.logger.record('info', `circuit ${record.id} open: ${record.a.vm} -> ${record.b.vm}/${record.service}`, {
      context: 'circuits',
      circuit: record.id,
    });
    return describeCircuit(record, 'a');
  }

  /**
   * The operator's limits (VM_RING_BYTES, TENANT_RING_ENTRIES, VM_RING_ENTRIES and TENANT_MAX_CIRCUITS among them),
   * with each endpoint tenant's own caps over them (when the tenants feature is wired in).
   */
  private async quotaLimits(record: CircuitRecord): Promise<QuotaLimits> {
    if (!this.tenants) return this.config;
    const perTenant: NonNullable<QuotaLimits['perTenant']> = {};
    for (const tenant of new Set([record.a.tenant, record.b.tenant])) {
      const caps = await this.tenants.ownCapsOf(tenant);
      perTenant[tenant] = {
        ...(caps.ringBytes === undefined ? {} : { TENANT_RING_BYTES: caps.ringBytes }),
        ...(caps.vmRingBytes === undefined ? {} : { VM_RING_BYTES: caps.vmRingBytes }),
        ...(caps.ringEntries === undefined ? {} : { TENANT_RING_ENTRIES: caps.ringEntries }),
        ...(caps.vmRingEntries === undefined ? {} : { VM_RING_ENTRIES: caps.vmRingEntries }),
        ...(caps.maxCircuits === undefined ? {} : { TENANT_MAX_CIRCUITS: caps.maxCircuits }),
      };
    }
    return { ...this.config, perTenant };
  }

  /** The caller's circuits, from its side (both sides of a circuit to itself). */
  async list(caller: CallerIdentity): Promise<CircuitDescriptor[]> {
    const records = await this.repository.circuitsOf(caller.id);
    return records
      .filter((record) => record.state === 'open')
      .flatMap((record) => [
        ...(record.a.vm === caller.id ? [describeCircuit(record, 'a')] : []),
        ...(record.b.vm === caller.id ? [describeCircuit(record, 'b')] : []),
      ]);
  }

  /** Either endpoint may close a circuit. To anyone else it does not exist: ids must not leak across tenants. */
  async close(caller: CallerIdentity, circuitId: string): Promise<void> {
    const record = await this.repository.find(circuitId);
    const mine = record && record.state !== 'closing' && (record.a.vm === caller.id || record.b.vm === caller.id);
    if (!mine) {
      throw new NotFoundError(`VM ${caller.id} has no circuit ${circuitId}; GET /circuits lists its circuits`);
    }
    await this.teardowns.teardown(circuitId, `closed by ${caller.id}`);
  }

  /**
   * `<vm>/<service>` names the listener. A bare `<service>` means the caller's own tenant's listener if there is
   * one, else the one listener in another tenant that policy lets the caller reach. Policy is checked here, once.
   */
  async resolveTarget(caller: CallerIdentity, target: CircuitTarget): Promise<Listener> {
    const { service } = target;
    const listeners = Object.entries(await this.repository.listenersOf(service)).map(([tenant, vm]): Listener => ({
      vm,
      tenant,
      service,
    }));
    const deny = (listener: Listener): PolicyDeniedError => {
      const { reason } = evaluatePolicy(this.config.CIRCUIT_POLICY, caller.tenant, listener.tenant, service);
      return new PolicyDeniedError(
        `${reason}. A rule {"from":"${caller.tenant}","to":"${listener.tenant}","service":"${service}"} in the ` +
          "operator's CIRCUIT_POLICY would allow it",
      );
    };
    const allowed = (listener: Listener): boolean =>
      evaluatePolicy(this.config.CIRCUIT_POLICY, caller.tenant, listener.tenant, service).allowed;

    let chosen: Listener | undefined;
    if (target.vm !== undefined) {
      chosen = listeners.find((l) => l.vm === target.vm);
      if (!chosen) {
        throw new NotFoundError(
          `VM ${target.vm} does not listen on service ${service}; check the target, or have that VM POST /listeners first`,
        );
      }
      if (!allowed(chosen)) throw deny(chosen);
    } else {
      chosen = listeners.find((l) => l.tenant === caller.tenant);
      if (!chosen) {
        if (listeners.length === 0) {
          throw new NotFoundError(
            `no VM listens on service ${service}; check the name, or have a VM POST /listeners { "service": "${service}" } first`,
          );
        }
        const reachable = listeners.filter(allowed);
        if (reachable.length === 0) {
          if (listeners.length === 1) throw deny(listeners[0]);
          throw new PolicyDeniedError(
            `${caller.tenant} may not connect to service ${service} of any tenant that offers it ` +
              `(${listeners.map((l) => l.tenant).join(', ')}): no rule allows it`,
          );
        }
        if (reachable.length > 1) {
          throw new ConflictError(
            `service ${service} is offered by several tenants ${caller.tenant} may connect to ` +
              `(${reachable.map((l) => `${l.vm} of ${l.tenant}`).join(', ')}); name one as <vm-id>/${service}`,
          );
        }
        chosen = reachable[0];
      }
    }

    const vm = await this.registry.lookup(chosen.vm);
    if (!vm) {
      throw new NotFoundError(`no VM listens on service ${service}: ${chosen.vm} is no longer registered`);
    }
    if (!vm.alive) {
      throw new DependencyUnavailableError(
        `VM ${chosen.vm}, which listens on service ${service}, is not heartbeating; try again once it is back`,
      );
    }
    return chosen;
  }
}
