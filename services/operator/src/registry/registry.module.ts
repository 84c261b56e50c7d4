import { Module } from '@nestjs/common';
import { AclModule } from '../acl/acl.module';
import { VmKeysModule } from '../vm-keys/vm-keys.module';
import { RegistryController } from './registry.controller';
import { RegistryRepository } from './registry.repository';
import { CLOCK, RegistryService } from './registry.service';
import { TenantVlanRepository } from './tenant-vlan.repository';

@Module({
  imports: [AclModule, VmKeysModule],
  controllers: [RegistryController],
  providers: [
    RegistryRepository,
    TenantVlanRepository,
    RegistryService,
    { provide: CLOCK, useValue: () => Date.now() },
  ],
  exports: [RegistryService, CLOCK],
})
export class RegistryModule {}
