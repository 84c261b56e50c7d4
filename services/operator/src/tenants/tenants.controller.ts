import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ConflictError, idParam, ValidationError } from '@tenantlab/shared';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { RegistryService } from '../registry/registry.service';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { parseTenantCaps } from './tenant-caps';
import type { TenantView } from './tenant-record';
import { TenantsService } from './tenants.service';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, strictObject } from '@tenantlab/shared';
import { TENANT_CREATED_SCHEMA, TENANT_VIEW_SCHEMA } from '../openapi.schemas';

/** The admin API: declared tenants. Every call needs `Authorization: Bearer <OPERATOR_ADMIN_TOKEN>`. */
@Controller('tenants')
@UseGuards(AdminTokenGuard)
@ApiTags('tenants')
@ApiBearerAuth('admin')
@ApiErrors(401, 403)
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
  @ApiAnswer(201, TENANT_CREATED_SCHEMA, 'the tenant, with its enrollment secret unless the body brought its hash')
  @ApiErrors(409)
  async create(@Body() body: CreateTenantDto): Promise<TenantView & { enrollmentSecret?: string }> {
    const { caps, problems } = parseTenantCaps(body.caps, 'caps');
    if (!caps) throw new ValidationError(`the tenant's caps are invalid: ${problems.join('; ')}`, problems);
    const { tenant, enrollmentSecret } = await this.tenants.create(body.id, caps, body.secretSha256);
    return { ...tenant, ...(enrollmentSecret ? { enrollmentSecret } : {}) };
  }

  @Get()
  @ApiAnswer(200, strictObject({ tenants: { type: 'array', items: TENANT_VIEW_SCHEMA } }), 'the declared tenants')
  async list(): Promise<{ tenants: TenantView[] }> {
    return { tenants: await this.tenants.list() };
  }

  @Get(':id')
  @ApiAnswer(200, TENANT_VIEW_SCHEMA, 'the tenant')
  @ApiErrors(404)
  get(@Param('id') id: string): Promise<TenantView> {
    return this.tenants.get(idParam('id', id));
  }

  /**
   * 204: the tenant is gone and its VLAN id free again. 409 while any VM of it has a live lease (they deregister
   * first); VMs of it whose lease has expired are deregistered with it, so nothing of it is left behind.
   */
  @Delete(':id')
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'deleted')
  @ApiErrors(404, 409)
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
