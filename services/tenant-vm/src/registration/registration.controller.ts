import { Controller, Get } from '@nestjs/common';
import { RegistrationService } from './registration.service';
import { ApiAnswer, ApiErrors } from '@tenantlab/shared';
import { REGISTRATION_SCHEMA } from '../openapi.schemas';

/** The VM's own view of itself, for labs and tests. */
@Controller('vm')
// Every route needs the VM's control token (VmControlGuard).
@ApiErrors(401, 403)
export class RegistrationController {
  constructor(private readonly registration: RegistrationService) {}

  @Get()
  @ApiAnswer(200, REGISTRATION_SCHEMA, 'whether the VM is registered with the operator')
  status(): ReturnType<RegistrationService['status']> {
    return this.registration.status();
  }
}
