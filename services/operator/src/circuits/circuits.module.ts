import { Module } from '@nestjs/common';
import { AclModule } from '../acl/acl.module';
import { RegistryModule } from '../registry/registry.module';
import { CircuitReaperService } from './circuit-reaper.service';
import { CircuitTeardownService } from './circuit-teardown.service';
import { CircuitsController } from './circuits.controller';
import { CircuitsRepository } from './circuits.repository';
import { CircuitsService } from './circuits.service';
import { ListenersController } from './listeners.controller';
import { ListenersService } from './listeners.service';

@Module({
  imports: [RegistryModule, AclModule],
  controllers: [ListenersController, CircuitsController],
  providers: [CircuitsRepository, CircuitTeardownService, CircuitsService, ListenersService, CircuitReaperService],
})
export class CircuitsModule {}
