import { Module } from '@nestjs/common';
import { AclModule } from '../acl/acl.module';
import { RegistryModule } from '../registry/registry.module';
import { CircuitReaperService } from './circuit-reaper.service';
import { CircuitTeardownService } from './circuit-teardown.service';
import { CircuitsController } from './circuits.controller';
import { LabCircuitsController } from './lab-circuits.controller';
import { CircuitsRepository } from './circuits.repository';
import { CircuitsService } from './circuits.service';
import { ListenersController } from './listeners.controller';
import { ListenersService } from './listeners.service';
import { OperatorMetrics } from './operator.metrics';
import { ConnectionWardenService } from '../wardens/connection-warden.service';
import { RingWardenService } from '../wardens/ring-warden.service';
import { WardensRepository } from '../wardens/wardens.repository';

@Module({
  imports: [RegistryModule, AclModule],
  controllers: [ListenersController, CircuitsController, LabCircuitsController],
  providers: [
    CircuitsRepository,
    CircuitTeardownService,
    CircuitsService,
    ListenersService,
    CircuitReaperService,
    WardensRepository,
    RingWardenService,
    ConnectionWardenService,
    OperatorMetrics,
  ],
})
export class CircuitsModule {}
