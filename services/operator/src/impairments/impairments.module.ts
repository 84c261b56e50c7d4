import { Module } from '@nestjs/common';
import { AdminTokenGuard } from '../auth/admin-token.guard';
import { SwitchClient } from '../programs/switch.client';
import { RegistryModule } from '../registry/registry.module';
import { VmImpairmentsController } from './vm-impairments.controller';

@Module({
  imports: [RegistryModule],
  controllers: [VmImpairmentsController],
  providers: [AdminTokenGuard, SwitchClient],
})
export class ImpairmentsModule {}
