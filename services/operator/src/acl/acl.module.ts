import { Module } from '@nestjs/common';
import { AclRepository } from './acl.repository';
import { AclService } from './acl.service';

@Module({
  providers: [AclRepository, AclService],
  exports: [AclService],
})
export class AclModule {}
