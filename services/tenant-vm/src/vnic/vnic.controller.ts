import { Controller, Get } from '@nestjs/common';
import { VnicService, type VnicStatus } from './vnic.service';

/** This VM's vNIC: its addresses, port streams and counters, for labs and tests. */
@Controller('vnic')
export class VnicController {
  constructor(private readonly vnic: VnicService) {}

  @Get()
  status(): VnicStatus {
    return this.vnic.status();
  }
}
