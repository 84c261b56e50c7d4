import { Controller, Get } from '@nestjs/common';
import { RegistrationService } from './registration.service';

/** The VM's own view of itself, for labs and tests. */
@Controller('vm')
export class RegistrationController {
  constructor(private readonly registration: RegistrationService) {}

  @Get()
  status(): ReturnType<RegistrationService['status']> {
    return this.registration.status();
  }
}
