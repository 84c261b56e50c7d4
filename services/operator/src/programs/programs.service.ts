import { Injectable, Optional } from '@nestjs/common';
import { NotFoundError, type PageTable, type TenantProgram } from '@tenantlab/shared';
import type { CallerIdentity } from '../circuits/circuits.service';
import { QuotaExceededError } from '../circuits/circuit.errors';
import { RegistryService } from '../registry/registry.service';
import { TenantsService } from '../tenants/tenants.service';
import { AllocatorClient, type ProgramAdmitted } from './allocator.client';
import type { TableEntryDto, TableKeyDto } from './dto/table-entry.dto';
import {
  type CounterCellView,
  type RegisterCellView,
  SwitchClient,
  type TableEntriesView,
  type TenantPortsView,
} from './switch.client';

/** A tenant's program as the running pipeline has it. */
export interface TenantProgramView {
  /** The pipeline version it is part of. */
  version: number;
  program: TenantProgram;
  pageTable: PageTable;
}

/**
 * Tenants' switch programs, managed through the operator, the one tenant-facing control plane. The allocator and
 * the switch trust whoever calls them to name the tenant, so every call here names the caller's own tenant (from
 * its VM token), never one from the request: no tenant can touch another's program, entries, registers or counters.
 */
@Injectable()
export class ProgramsService {
  constructor(
    private readonly registry: RegistryService,
    private readonly allocator: AllocatorClient,
    private readonly switchApi: SwitchClient,
    @Optional() private readonly tenants?: TenantsService,
  ) {}

  /**
   * Submits the caller tenant's program, with the tenant's registered VMs as the only `forward` targets it may
   * name. `created` when the tenant had no program before.
   */
  async submit(caller: CallerIdentity, program: unknown): Promise<{ created: boolean; admitted: ProgramAdmitted }> {
    await this.checkMaxPrograms(caller.tenant);
    const vms = (await this.registry.list({ tenant: caller.tenant })).map((vm) => vm.id);
    return this.allocator.submit(caller.tenant, vms, program);
  }

  /**
   * A tenant has at most one program in the pipeline (a submission replaces it), so its maxPrograms cap is 0 or 1:
   * 0 keeps a tenant out of the switch's shared program capacity altogether.
   */
  private async checkMaxPrograms(tenant: string): Promise<void> {
    if (!this.tenants) return;
    const { maxPrograms } = await this.tenants.capsOf(tenant);
    if (maxPrograms < 1) {
      throw new QuotaExceededError(
        `quota maxPrograms exceeded: tenant ${tenant} may have ${maxPrograms} programs in the switch pipeline ` +
          '(its cap maxPrograms, or TENANT_MAX_PROGRAMS); an administrator can raise it to 1',
      );
    }
  }

  async remove(caller: CallerIdentity): Promise<void> {
    await this.allocator.remove(caller.tenant);
  }

  async get(caller: CallerIdentity): Promise<TenantProgramView> {
    const pipeline = await this.allocator.pipeline();
    const linked = pipeline?.tenants[caller.tenant];
    if (!pipeline || !linked) {
      throw new NotFoundError(
        `tenant ${caller.tenant} has no program in the pipeline; submit one with PUT /program { "program": ... }`,
      );
    }
    return { version: pipeline.version, program: linked.program.program, pageTable: linked.pageTable };
  }

  addEntry(caller: CallerIdentity, table: string, entry: TableEntryDto): Promise<TableEntriesView> {
    return this.switchApi.addEntry(caller.tenant, table, entry);
  }

  removeEntry(caller: CallerIdentity, table: string, key: TableKeyDto): Promise<void> {
    return this.switchApi.removeEntry(caller.tenant, table, key);
  }

  readRegister(caller: CallerIdentity, register: string, index: number): Promise<RegisterCellView> {
    return this.switchApi.readRegister(caller.tenant, register, index);
  }

  ports(caller: CallerIdentity): Promise<TenantPortsView> {
    return this.switchApi.ports(caller.tenant);
  }

  readCounter(caller: CallerIdentity, counter: string, index: number): Promise<CounterCellView> {
    return this.switchApi.readCounter(caller.tenant, counter, index);
  }
}
