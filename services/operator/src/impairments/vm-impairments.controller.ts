import { Body, Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiErrors,
  IMPAIRMENT_CLEARED_SCHEMA,
  IMPAIRMENT_VIEW_SCHEMA,
  type ImpairmentCleared,
  ImpairmentSpecDto,
  type ImpairmentView,
  idParam,
  normalImpairmentSpec,
} from '@tenantlab/shared';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { SwitchClient } from '../programs/switch.client';
import { RegistryService } from '../registry/registry.service';

/**
 * The admin API for a VM's port impairment (delay, jitter, loss, reordering, rate), which the switch applies to the
 * frames it delivers to the VM: the lab's stand-in for netem. Admin token only: no tenant may impair a port, its own
 * included (it would be a way to hurt the tenants whose frames it receives, and a lever over its own figures).
 */
@Controller('vms/:id/impairment')
@UseGuards(AdminTokenGuard)
@ApiTags('impairments')
@ApiBearerAuth('admin')
@ApiErrors(401, 403, 404)
export class VmImpairmentsController {
  constructor(
    private readonly registry: RegistryService,
    private readonly switchClient: SwitchClient,
  ) {}

  @Put()
  @HttpCode(200)
  @ApiAnswer(200, IMPAIRMENT_VIEW_SCHEMA, 'the impairment now in force on the switch')
  async put(@Param('id') id: string, @Body() body: ImpairmentSpecDto): Promise<ImpairmentView> {
    const vm = await this.registered(id);
    return this.switchClient.setImpairment(vm, normalImpairmentSpec(body));
  }

  @Get()
  @ApiAnswer(200, IMPAIRMENT_VIEW_SCHEMA, "the VM's impairment (null: none), what it holds and its counts")
  async get(@Param('id') id: string): Promise<ImpairmentView> {
    return this.switchClient.impairment(await this.registered(id));
  }

  @Delete()
  @HttpCode(200)
  @ApiAnswer(200, IMPAIRMENT_CLEARED_SCHEMA, 'removed (or there was none); frames it held were flushed in order')
  async remove(@Param('id') id: string): Promise<ImpairmentCleared> {
    return this.switchClient.clearImpairment(await this.registered(id));
  }

  /** The VM's id once the registry knows it (404 otherwise, before the switch is asked). */
  private async registered(id: string): Promise<string> {
    return (await this.registry.get(idParam('id', id))).id;
  }
}
