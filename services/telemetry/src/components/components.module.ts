import { Module } from '@nestjs/common';
import { ComponentsController } from './components.controller';
import { ComponentsService } from './components.service';
import { StatusConsumer } from './status.consumer';

@Module({
  controllers: [ComponentsController],
  providers: [ComponentsService, StatusConsumer],
  exports: [StatusConsumer],
})
export class ComponentsModule {}
