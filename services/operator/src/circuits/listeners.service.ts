import { Inject, Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@tenantlab/shared';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import type { Listener } from './circuit-record';
import { QuotaExceededError } from './circuit.errors';
import { CircuitsRepository } from './circuits.repository';
import type { CallerIdentity } from './circuits.service';

/** Which VM answers for a service name in its tenant. A name is unique per tenant, so `<service>` targets are. */
@Injectable()
export class ListenersService {
  constructor(
    private readonly repository: CircuitsRepository,
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'MAX_LISTENERS_PER_VM'>,
  ) {}

  /**
   * Idempotent for the VM that already listens on `service`; 409 when another VM of the tenant does; 429 when the VM
   * already listens on MAX_LISTENERS_PER_VM services.
   */
  async listen(caller: CallerIdentity, service: string): Promise<Listener> {
    const max = this.config.MAX_LISTENERS_PER_VM;
    const outcome = await this.repository.addListener(caller.tenant, service, caller.id, max);
    if ('full' in outcome) {
      throw new QuotaExceededError(
        `quota MAX_LISTENERS_PER_VM exceeded: VM ${caller.id} listens on ${outcome.full} services, at most ${max}; ` +
          'DELETE /listeners/<service> one it no longer needs first',
      );
    }
    // The holder asking again is no conflict: a VM re-announces its listeners after it registered again.
    if ('holder' in outcome && outcome.holder !== caller.id) {
      throw new ConflictError(
        `service ${service} is already listened on in tenant ${caller.tenant} by VM ${outcome.holder}; ` +
          `that VM must DELETE /listeners/${service} first, or pick another name`,
      );
    }
    return { vm: caller.id, tenant: caller.tenant, service };
  }

  /** Stops new circuits to the service; circuits already open stay open. */
  async unlisten(caller: CallerIdentity, service: string): Promise<void> {
    if (!(await this.repository.removeListener(caller.tenant, service, caller.id))) {
      throw new NotFoundError(
        `VM ${caller.id} does not listen on service ${service}; GET /listeners lists its services`,
      );
    }
  }

  async list(caller: CallerIdentity): Promise<Listener[]> {
    return (await this.repository.servicesOf(caller.id)).map((service) => ({
      vm: caller.id,
      tenant: caller.tenant,
      service,
    }));
  }
}
