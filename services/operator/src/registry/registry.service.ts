import { Inject, Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@tenantlab/shared';
import { OPERATOR_CONFIG, OperatorConfig } from '../config/operator.config';
import { RegisterVmDto } from './dto/register-vm.dto';
import { RegistryRepository } from './registry.repository';
import { VmRecord, VmView } from './vm-record';

export const CLOCK = Symbol('CLOCK');
export type Clock = () => number;

/** The VM registry: which tenant VMs exist, where their control APIs answer, and whether they are alive. */
@Injectable()
export class RegistryService {
  constructor(
    private readonly repository: RegistryRepository,
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'VM_LEASE_MS'>,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /**
   * Registers a VM, or re-registers it after a restart (same id and tenant: the URL may change). A VM id is bound to
   * its tenant for as long as it is registered: letting it move would hand one tenant's identity to another.
   */
  async register(request: RegisterVmDto): Promise<{ vm: VmView; created: boolean }> {
    const existing = await this.repository.find(request.id);
    if (existing && existing.tenant !== request.tenant) {
      throw new ConflictError(
        `VM ${request.id} is registered to tenant ${existing.tenant}; a VM cannot change tenant. Deregister it first or pick another id.`,
      );
    }
    const at = this.now();
    const record: VmRecord = {
      id: request.id,
      tenant: request.tenant,
      url: request.url,
      registeredAt: existing?.registeredAt ?? at,
      lastHeartbeatAt: at,
    };
    await this.repository.save(record);
    return { vm: this.view(record), created: !existing };
  }

  async heartbeat(id: string): Promise<void> {
    if (!(await this.repository.touch(id, this.now()))) throw this.notRegistered(id);
  }

  async get(id: string): Promise<VmView> {
    const record = await this.repository.find(id);
    if (!record) throw this.notRegistered(id);
    return this.view(record);
  }

  async list(filter: { tenant?: string } = {}): Promise<VmView[]> {
    const records = await this.repository.list();
    return records.filter((r) => !filter.tenant || r.tenant === filter.tenant).map((r) => this.view(r));
  }

  async deregister(id: string): Promise<void> {
    if (!(await this.repository.remove(id))) throw this.notRegistered(id);
  }

  private view(record: VmRecord): VmView {
    return { ...record, alive: this.now() - record.lastHeartbeatAt <= this.config.VM_LEASE_MS };
  }

  private notRegistered(id: string): NotFoundError {
    return new NotFoundError(`VM ${id} is not registered; register it with POST /vms first`);
  }
}
