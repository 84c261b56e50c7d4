import { Module } from '@nestjs/common';
import { VmKeysRepository } from './vm-keys.repository';
import { VmKeysService } from './vm-keys.service';

@Module({
  providers: [VmKeysRepository, VmKeysService],
  exports: [VmKeysService],
})
export class VmKeysModule {}
