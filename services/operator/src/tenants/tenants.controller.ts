import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ConflictError, idParam, ValidationError } from '@tenantlab/shared';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { RegistryService } from '../registry/registry.service';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { parseTenantCaps } from './tenant-caps';
import type { TenantView } from './tenant-record';
import { TenantsService } from './tenants.service';

/** The admin API: declared tenants. Every call needs `Authorization: Bearer <OPERATOR_ADMIN_TOKEN>`. */
@Controller('tenants')
@UseGuards(AdminTokenGuard)
export class TenantsController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly registry: RegistryService,
  ) {}

  /**
   * 201 with the tenant and its enrollment secret, shown only here (the operator keeps its sha256); without the
   * secret when the body brought its hash (`secretSha256`).
   */
  @Post()
  async create(@Body() body: CreateTenantDto): Promise<TenantView & { enrollmentSecret?: string }> {
    const { caps, problems } = parseTenantCaps(body.caps, 'caps');
    if (!caps) throw new ValidationError(`the tenant's caps are invalid: ${problems.join('; ')}`, problems);
    const { tenant, enrollmentSecret } = await this.tenants.create(body.id, caps, body.secretSha256);
    return { ...tenant, ...(enrollmentSecret ? { enrollmentSecret } : {}) };
  }

  @Get()
  async list(): Promise<{ tenants: TenantView[] }> {
    return { tenants: await this.tenants.list() };
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<TenantView> {
    return this.tenants.get(idParam('id', id));
  }

  /**
   * 204: the tenant is gone and its VLAN id free again. 409 while any VM of it has a live lease (they deregister
   * first); VMs of it whose lease has expired are deregistered with it, so nothing of it is left behind.
   */
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    const tenant = (await this.tenants.get(idParam('id', id))).id;
    const alive = await this.registry.releaseExpiredVmsOf(tenant);
    if (alive.length > 0) {
      throw new ConflictError(
        `tenant ${tenant} still has ${alive.length} VM(s) with a live lease (${alive.join(', ')}): deregister them ` +
          '(DELETE /vms/:id with each VM token) or stop them and wait for their leases to expire, then delete the tenant',
      );
    }
    await this.tenants.remove(tenant);
  }
}
