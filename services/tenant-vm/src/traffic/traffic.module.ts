import { Module } from '@nestjs/common';
import { VnicModule } from '../vnic/vnic.module';
import { TrafficController } from './traffic.controller';
import { TrafficService } from './traffic.service';

@Module({
  imports: [VnicModule],
  controllers: [TrafficController],
  providers: [TrafficService],
})
export class TrafficModule {}
