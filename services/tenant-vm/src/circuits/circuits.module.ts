import { Module } from '@nestjs/common';
import { RegistrationModule } from '../registration/registration.module';
import { CircuitBrokerClient } from './circuit-broker.client';
import { CircuitSocketsService } from './circuit-sockets.service';
import { CircuitsController } from './circuits.controller';
import { InboxListener } from './inbox.listener';
import { VmRedis } from './vm-redis';

@Module({
  imports: [RegistrationModule],
  controllers: [CircuitsController],
  providers: [CircuitBrokerClient, VmRedis, CircuitSocketsService, InboxListener],
  exports: [CircuitSocketsService, VmRedis],
})
export class CircuitsModule {}
