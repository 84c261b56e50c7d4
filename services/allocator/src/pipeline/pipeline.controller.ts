import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import { DomainError, idParam, ProgramResources } from '@tenantlab/shared';
import type { Response } from 'express';
import type { PageTable } from '../memory/memory-map';
import { SubmitProgramDto } from './dto/submit-program.dto';
import type { LinkedPipeline } from './linked-pipeline';
import { MemoryReport, PipelineService } from './pipeline.service';
import { AllocatorMetrics } from './allocator.metrics';
import { ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, PROGRAM_ADMITTED_SCHEMA, strictObject } from '@tenantlab/shared';

export interface SubmitReply {
  version: number;
  pageTable: PageTable;
  resources: ProgramResources;
}

/**
 * The allocator's API. It trusts its callers (the operator, acting for tenants), so the tenant and its VMs come in
 * the request; the operator is where tenants authenticate.
 */
@Controller()
@ApiTags('pipeline')
export class PipelineController {
  constructor(
    private readonly pipelines: PipelineService,
    private readonly metrics: AllocatorMetrics,
  ) {}

  /** 201 when the tenant had no program, 200 when this one replaced it. */
  @Put('tenants/:tenant/program')
  @ApiAnswer(201, PROGRAM_ADMITTED_SCHEMA, 'admitted; the tenant had no program')
  @ApiAnswer(200, PROGRAM_ADMITTED_SCHEMA, 'admitted in place of the previous one')
  @ApiErrors(409, 429)
  async submit(
    @Param('tenant') tenant: string,
    @Body() body: SubmitProgramDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SubmitReply> {
    let result: Awaited<ReturnType<PipelineService['submit']>>;
    try {
      result = await this.pipelines.submit(idParam('tenant', tenant), body.vms, body.program);
    } catch (error) {
      // Refused: over a quota, no room, or an invalid program (not a store that did not answer).
      if (error instanceof DomainError && !error.retriable) this.metrics.decided('refused');
      throw error;
    }
    this.metrics.decided(result.created ? 'admitted' : 'replaced');
    response.status(result.created ? 201 : 200);
    return { version: result.version, pageTable: result.pageTable, resources: result.resources };
  }

  @Delete('tenants/:tenant/program')
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'removed')
  @ApiErrors(404)
  async remove(@Param('tenant') tenant: string): Promise<void> {
    await this.pipelines.remove(idParam('tenant', tenant));
    this.metrics.decided('removed');
  }

  @Get('memory')
  @ApiAnswer(200, { type: 'object' }, 'the register memory map: stages, slices, free memory')
  memory(): Promise<MemoryReport> {
    return this.pipelines.memory();
  }

  @Get('pipeline')
  @ApiAnswer(
    200,
    strictObject({ version: { type: 'integer' }, createdAt: { type: 'string' }, tenants: { type: 'object' } }),
    'the linked pipeline',
  )
  @ApiErrors(404)
  pipeline(): Promise<LinkedPipeline> {
    return this.pipelines.pipeline();
  }
}
