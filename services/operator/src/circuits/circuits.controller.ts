import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { CircuitDescriptor } from '@tenantlab/shared';
import { CallerVm, VmAuthGuard } from '../auth/vm-auth.guard';
import { TenantTurnsGuard } from '../fairness/tenant-turns.guard';
import type { VmRecord } from '../registry/vm-record';
import { CircuitsService } from './circuits.service';
import { CreateCircuitDto } from './dto/create-circuit.dto';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, CIRCUIT_DESCRIPTOR_SCHEMA, strictObject } from '@tenantlab/shared';
import { type WardenCounts, WardensRepository } from '../wardens/wardens.repository';

/** A VM's circuits; the bearer token says which VM is asking. */
@Controller('circuits')
// Its tenant's turn first (TenantTurnsGuard), then who it is: authenticating is work a flood must wait for.
@UseGuards(TenantTurnsGuard, VmAuthGuard)
@ApiTags('circuits')
@ApiBearerAuth('vm')
// 429: more of its tenant's calls wait for their turn than may (TenantTurnsGuard).
@ApiErrors(401, 403, 429)
export class CircuitsController {
  constructor(
    private readonly circuits: CircuitsService,
    private readonly wardens: WardensRepository,
  ) {}

  /** 201 with the connecting side's descriptor; the listener learns of it through its inbox. */
  @Post()
  @ApiAnswer(201, CIRCUIT_DESCRIPTOR_SCHEMA, "the connecting side's descriptor")
  @ApiErrors(404, 409, 429)
  connect(@CallerVm() caller: VmRecord, @Body() body: CreateCircuitDto): Promise<CircuitDescriptor> {
    return this.circuits.connect(caller, body);
  }

  /** The caller's circuits, and what the operator's wardens did to it (rings reset, connections closed). */
  @Get()
  @ApiAnswer(
    200,
    strictObject({
      circuits: { type: 'array', items: CIRCUIT_DESCRIPTOR_SCHEMA },
      warden: strictObject(
        { ringResets: { type: 'integer' }, connectionsClosed: { type: 'integer' }, lastReason: { type: 'string' } },
        ['lastReason'],
      ),
    }),
    "the caller's circuits, and what the operator's wardens did to this VM",
  )
  async list(@CallerVm() caller: VmRecord): Promise<{ circuits: CircuitDescriptor[]; warden: WardenCounts }> {
    return { circuits: await this.circuits.list(caller), warden: await this.wardens.countsOf(caller.id) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'closed')
  @ApiErrors(404)
  close(@CallerVm() caller: VmRecord, @Param('id') id: string): Promise<void> {
    return this.circuits.close(caller, id);
  }
}
