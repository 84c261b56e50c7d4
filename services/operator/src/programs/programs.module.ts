import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module';
import { AllocatorClient } from './allocator.client';
import { ProgramsController } from './programs.controller';
import { ProgramsService } from './programs.service';
import { SwitchClient } from './switch.client';

@Module({
  imports: [RegistryModule],
  controllers: [ProgramsController],
  providers: [AllocatorClient, SwitchClient, ProgramsService],
})
export class ProgramsModule {}
