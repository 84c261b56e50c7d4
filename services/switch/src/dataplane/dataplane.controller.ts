import { Body, Controller, Get, HttpCode, Param, Put } from '@nestjs/common';
import { idParam } from '@tenantlab/shared';
import { IsNumber, Max, Min } from 'class-validator';
import { DataplaneService, MAX_CPU_WEIGHT } from './dataplane.service';
import { ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, strictObject } from '@tenantlab/shared';

export class SamplingDto {
  @IsNumber({}, { message: 'must be a number from 0 to 1' })
  @Min(0, { message: 'must be a number from 0 to 1' })
  @Max(1, { message: 'must be a number from 0 to 1' })
  rate!: number;
}

/** The rule in words, for every way a weight can be wrong: 0 < weight ≤ 1000. */
export const CPU_WEIGHT_RULE = `must be a number above 0 and at most ${MAX_CPU_WEIGHT} (0 < weight ≤ ${MAX_CPU_WEIGHT})`;

export class CpuWeightDto {
  @IsNumber({}, { message: CPU_WEIGHT_RULE })
  @Min(Number.MIN_VALUE, { message: CPU_WEIGHT_RULE })
  @Max(MAX_CPU_WEIGHT, { message: CPU_WEIGHT_RULE })
  weight!: number;
}

/**
 * The data path as people and tests see it: ports, flow cache, counters, per-tenant trace sampling and CPU weights.
 * These are the lab operator's controls (like `ovs-dpctl`), reachable on the switch's loopback port only.
 */
@Controller()
@ApiTags('dataplane')
export class DataplaneController {
  constructor(private readonly dataplane: DataplaneService) {}

  @Get('dataplane')
  @ApiAnswer(200, { type: 'object' }, 'ports, flow cache, counters, sampling and CPU weights')
  show(): Record<string, unknown> {
    return this.dataplane.show();
  }

  @Put('tenants/:tenant/sampling')
  @HttpCode(200)
  @ApiAnswer(200, strictObject({ tenant: { type: 'string' }, rate: { type: 'number' } }), 'the rate now in force')
  @ApiErrors(404)
  async setSampling(
    @Param('tenant') tenant: string,
    @Body() body: SamplingDto,
  ): Promise<{ tenant: string; rate: number }> {
    await this.dataplane.setSampling(idParam('tenant', tenant), body.rate);
    return { tenant, rate: this.dataplane.samplingOf(tenant) };
  }

  @Put('tenants/:tenant/cpu-weight')
  @HttpCode(200)
  @ApiAnswer(200, strictObject({ tenant: { type: 'string' }, weight: { type: 'number' } }), 'the weight now in force')
  @ApiErrors(404)
  setCpuWeight(@Param('tenant') tenant: string, @Body() body: CpuWeightDto): { tenant: string; weight: number } {
    this.dataplane.setCpuWeight(idParam('tenant', tenant), body.weight);
    return { tenant, weight: this.dataplane.cpuWeightOf(tenant) };
  }
}
