import { Module } from '@nestjs/common';
import { RegistrationModule } from '../registration/registration.module';
import { OperatorProgramsClient } from './operator-programs.client';
import { ProgramsController } from './programs.controller';

@Module({
  imports: [RegistrationModule],
  controllers: [ProgramsController],
  providers: [OperatorProgramsClient],
})
export class ProgramsModule {}
