import { Body, Controller, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ID_PATTERN, ValidationError } from '@tenantlab/shared';
import { IsNumber, Max, Min } from 'class-validator';
import { DataplaneService } from './dataplane.service';

export class SamplingDto {
  @IsNumber({}, { message: 'must be a number from 0 to 1' })
  @Min(0)
  @Max(1)
  rate!: number;
}

/** The data path as people and tests see it: ports, flow cache, counters, and per-tenant trace sampling. */
@Controller()
export class DataplaneController {
  constructor(private readonly dataplane: DataplaneService) {}

  @Get('dataplane')
  show(): Record<string, unknown> {
    return this.dataplane.show();
  }

  @Put('tenants/:tenant/sampling')
  @HttpCode(200)
  setSampling(@Param('tenant') tenant: string, @Body() body: SamplingDto): { tenant: string; rate: number } {
    if (!ID_PATTERN.test(tenant)) {
      throw new ValidationError('tenant is invalid: expected 1-63 characters of a-z, 0-9 and -', [
        'tenant: invalid id',
      ]);
    }
    this.dataplane.setSampling(tenant, body.rate);
    return { tenant, rate: this.dataplane.samplingOf(tenant) };
  }
}
