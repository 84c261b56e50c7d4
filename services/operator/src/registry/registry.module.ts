import { Module } from '@nestjs/common';
import { AclModule } from '../acl/acl.module';
import { VmKeysModule } from '../vm-keys/vm-keys.module';
import { RegistryController } from './registry.controller';
import { RegistryRepository } from './registry.repository';
import { CLOCK, RegistryService } from './registry.service';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { TenantsController } from '../tenants/tenants.controller';
import { TenantsModule } from '../tenants/tenants.module';
import { StoreLossService } from '../store/store-loss.service';

@Module({
  imports: [AclModule, VmKeysModule, TenantsModule],
  controllers: [RegistryController, TenantsController],
  providers: [
    RegistryRepository,
    AdminTokenGuard,
    RegistryService,
    StoreLossService,
    { provide: CLOCK, useValue: () => Date.now() },
  ],
  exports: [RegistryService, CLOCK, TenantsModule, StoreLossService],
})
export class RegistryModule {}
