import { Module } from '@nestjs/common';
import { RegistryController } from './registry.controller';
import { RegistryRepository } from './registry.repository';
import { CLOCK, RegistryService } from './registry.service';

@Module({
  controllers: [RegistryController],
  providers: [RegistryRepository, RegistryService, { provide: CLOCK, useValue: () => Date.now() }],
})
export class RegistryModule {}
