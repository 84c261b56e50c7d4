import { Controller, Get } from '@nestjs/common';
import { VnicService, type VnicStatus } from './vnic.service';
import { ApiAnswer, ApiErrors } from '@tenantlab/shared';
import { VNIC_SCHEMA } from '../openapi.schemas';

/** This VM's vNIC: its addresses, port streams and counters, for labs and tests. */
@Controller('vnic')
// Every route needs the VM's control token (VmControlGuard).
@ApiErrors(401, 403)
export class VnicController {
  constructor(private readonly vnic: VnicService) {}

  @Get()
  @ApiAnswer(200, VNIC_SCHEMA, "the vNIC's addresses, streams and counters")
  status(): VnicStatus {
    return this.vnic.status();
  }
}
