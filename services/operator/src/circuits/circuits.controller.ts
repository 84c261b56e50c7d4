import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { CircuitDescriptor } from '@tenantlab/shared';
import { CallerVm, VmAuthGuard } from '../auth/vm-auth.guard';
import type { VmRecord } from '../registry/vm-record';
import { CircuitsService } from './circuits.service';
import { CreateCircuitDto } from './dto/create-circuit.dto';

/** A VM's circuits; the bearer token says which VM is asking. */
@Controller('circuits')
@UseGuards(VmAuthGuard)
export class CircuitsController {
  constructor(private readonly circuits: CircuitsService) {}

  /** 201 with the connecting side's descriptor; the listener learns of it through its inbox. */
  @Post()
  connect(@CallerVm() caller: VmRecord, @Body() body: CreateCircuitDto): Promise<CircuitDescriptor> {
    return this.circuits.connect(caller, body);
  }

  @Get()
  async list(@CallerVm() caller: VmRecord): Promise<{ circuits: CircuitDescriptor[] }> {
    return { circuits: await this.circuits.list(caller) };
  }

  @Delete(':id')
  @HttpCode(204)
  close(@CallerVm() caller: VmRecord, @Param('id') id: string): Promise<void> {
    return this.circuits.close(caller, id);
  }
}
