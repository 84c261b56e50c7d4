import { Module } from '@nestjs/common';
import { CircuitsModule } from '../circuits/circuits.module';
import { VnicController } from './vnic.controller';
import { VnicService } from './vnic.service';

@Module({
  imports: [CircuitsModule],
  controllers: [VnicController],
  providers: [VnicService],
  exports: [VnicService],
})
export class VnicModule {}
