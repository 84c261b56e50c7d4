import { Module } from '@nestjs/common';
import { CLOCK } from '../clock';
import { TenantsRepository } from './tenants.repository';
import { TenantsService } from './tenants.service';

/** Declared tenants. The admin API's controller lives in RegistryModule, since deleting a tenant ends its VMs. */
@Module({
  providers: [TenantsRepository, TenantsService, { provide: CLOCK, useValue: () => Date.now() }],
  exports: [TenantsService],
})
export class TenantsModule {}
