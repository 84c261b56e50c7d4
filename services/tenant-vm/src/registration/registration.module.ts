import { Module } from '@nestjs/common';
import { OperatorClient } from './operator.client';
import { RegistrationController } from './registration.controller';
import { RegistrationService } from './registration.service';

@Module({
  controllers: [RegistrationController],
  providers: [OperatorClient, RegistrationService],
  exports: [RegistrationService],
})
export class RegistrationModule {}
