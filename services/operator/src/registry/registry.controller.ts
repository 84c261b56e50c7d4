import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { idParam, TENANT_SECRET_HEADER } from '@tenantlab/shared';
import type { Response } from 'express';
import { ForbiddenError } from '../auth/auth.errors';
import { BearerToken } from '../auth/bearer-token.decorator';
import { CallerRegistryReader, type RegistryReader, RegistryReaderGuard } from '../auth/registry-reader.guard';
import { RegisterVmDto } from './dto/register-vm.dto';
import { TenantTurnsGuard } from '../fairness/tenant-turns.guard';
import { RegistryService } from './registry.service';
import { RegisteredVm, VmView } from './vm-record';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, strictObject } from '@tenantlab/shared';
import { REGISTERED_VM_SCHEMA, VM_VIEW_SCHEMA } from '../openapi.schemas';

@Controller('vms')
// Each call waits for its tenant's turn (or its address's, before the VM has a token) before any work is done for it.
@UseGuards(TenantTurnsGuard)
@ApiTags('registry')
// 429: more calls of its tenant (or address) wait for their turn than may.
@ApiErrors(429)
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  /**
   * 201 for a new VM, 200 when a known VM registers again. The response carries the VM's credentials, the only
   * time they are shown; a live VM registering again must send its current token. Every registration needs the
   * tenant's enrollment secret in the X-Tenant-Secret header (a header, so it never lands in a logged body).
   */
  @Post()
  @ApiHeader({ name: TENANT_SECRET_HEADER, required: false, description: "the tenant's enrollment secret" })
  @ApiBearerAuth('vm')
  @ApiAnswer(201, REGISTERED_VM_SCHEMA, 'a new VM, with its credentials (shown only here)')
  @ApiAnswer(200, REGISTERED_VM_SCHEMA, 'a known VM registered again, with new credentials')
  @ApiErrors(401, 403, 409, 429)
  async register(
    @Body() body: RegisterVmDto,
    @BearerToken({ optional: true }) token: string | undefined,
    @Headers(TENANT_SECRET_HEADER) tenantSecret: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<RegisteredVm> {
    const { vm, created, credentials } = await this.registry.register(body, token, tenantSecret);
    response.status(created ? 201 : 200);
    return { ...vm, credentials };
  }

  /** The admin token or a service token lists every VM; a VM's token lists its own tenant's (the default filter). */
  @Get()
  @UseGuards(RegistryReaderGuard)
  @ApiBearerAuth('vm')
  @ApiQuery({ name: 'tenant', required: false })
  @ApiAnswer(200, strictObject({ vms: { type: 'array', items: VM_VIEW_SCHEMA } }), 'the registered VMs')
  @ApiErrors(401, 403)
  async list(
    @CallerRegistryReader() reader: RegistryReader,
    @Query('tenant') tenant?: string,
  ): Promise<{ vms: VmView[] }> {
    if (tenant !== undefined) idParam('tenant', tenant);
    if (reader.scope === 'lab') return { vms: await this.registry.list({ tenant }) };
    if (tenant !== undefined && tenant !== reader.tenant) {
      throw new ForbiddenError(`a VM's token lists its own tenant's VMs only (${reader.tenant}), not ${tenant}'s`);
    }
    return { vms: await this.registry.list({ tenant: reader.tenant }) };
  }

  /** A VM's token sees its own tenant's VMs only: another tenant's VM is 404, as if it were not registered. */
  @Get(':id')
  @UseGuards(RegistryReaderGuard)
  @ApiBearerAuth('vm')
  @ApiAnswer(200, VM_VIEW_SCHEMA, 'the VM')
  @ApiErrors(401, 403, 404)
  get(@CallerRegistryReader() reader: RegistryReader, @Param('id') id: string): Promise<VmView> {
    return this.registry.get(idParam('id', id), reader.scope === 'tenant' ? reader : undefined);
  }

  @Post(':id/heartbeat')
  @HttpCode(204)
  @ApiBearerAuth('vm')
  @ApiAnswer(204, undefined, 'lease renewed')
  @ApiErrors(401, 403, 404)
  heartbeat(@Param('id') id: string, @BearerToken() token: string): Promise<void> {
    return this.registry.heartbeat(idParam('id', id), token);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiBearerAuth('vm')
  @ApiAnswer(204, undefined, 'deregistered')
  @ApiErrors(401, 403, 404)
  deregister(@Param('id') id: string, @BearerToken() token: string): Promise<void> {
    return this.registry.deregister(idParam('id', id), token);
  }
}
