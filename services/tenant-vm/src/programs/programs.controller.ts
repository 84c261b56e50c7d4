import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { OperatorProgramsClient } from './operator-programs.client';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiErrors,
  COUNTER_CELL_SCHEMA,
  PROGRAM_ADMITTED_SCHEMA,
  REGISTER_CELL_SCHEMA,
  TABLE_ENTRIES_SCHEMA,
} from '@tenantlab/shared';

/**
 * This VM's tenant's switch program, for people and tests working from inside the VM: each call goes to the
 * operator with this VM's token (`PUT /program` takes `{ program }`, as the operator does). The operator decides
 * which tenant; this API cannot name another.
 */
@Controller('program')
@ApiTags('programs')
@ApiErrors(400, 401, 403, 404, 409, 429, 502)
export class ProgramsController {
  constructor(private readonly operator: OperatorProgramsClient) {}

  @Put()
  @ApiBody({ schema: { type: 'object', description: '{ program }, as PUT /program of the operator takes it' } })
  @ApiAnswer(201, PROGRAM_ADMITTED_SCHEMA, 'admitted; the tenant had no program')
  @ApiAnswer(200, PROGRAM_ADMITTED_SCHEMA, 'admitted in place of the previous one')
  @ApiErrors(413)
  async submit(@Body() body: unknown, @Res({ passthrough: true }) response: Response): Promise<unknown> {
    const answer = await this.operator.call('PUT', '/program', body);
    response.status(answer.status);
    return answer.body;
  }

  @Get()
  @ApiAnswer(200, { type: 'object' }, "the tenant's program in the pipeline (the operator's answer)")
  async get(): Promise<unknown> {
    return (await this.operator.call('GET', '/program')).body;
  }

  @Delete()
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'removed')
  async remove(): Promise<void> {
    await this.operator.call('DELETE', '/program');
  }

  @Post('tables/:table/entries')
  @ApiBody({ schema: { type: 'object', description: '{ key, action, args?, priority? }, as the operator takes it' } })
  @ApiAnswer(201, TABLE_ENTRIES_SCHEMA, 'added')
  @ApiErrors(413)
  async addEntry(@Param('table') table: string, @Body() body: unknown): Promise<unknown> {
    return (await this.operator.call('POST', `/program/tables/${encodeURIComponent(table)}/entries`, body)).body;
  }

  @Delete('tables/:table/entries')
  @HttpCode(204)
  @ApiBody({ schema: { type: 'object', description: '{ key }, as the operator takes it' } })
  @ApiAnswer(204, undefined, 'removed')
  @ApiErrors(413)
  async removeEntry(@Param('table') table: string, @Body() body: unknown): Promise<void> {
    await this.operator.call('DELETE', `/program/tables/${encodeURIComponent(table)}/entries`, body);
  }

  @Get('registers/:register/:index')
  @ApiAnswer(200, REGISTER_CELL_SCHEMA, 'the cell')
  async register(@Param('register') register: string, @Param('index') index: string): Promise<unknown> {
    const path = `/program/registers/${encodeURIComponent(register)}/${encodeURIComponent(index)}`;
    return (await this.operator.call('GET', path)).body;
  }

  @Get('counters/:counter/:index')
  @ApiAnswer(200, COUNTER_CELL_SCHEMA, 'the cell')
  async counter(@Param('counter') counter: string, @Param('index') index: string): Promise<unknown> {
    const path = `/program/counters/${encodeURIComponent(counter)}/${encodeURIComponent(index)}`;
    return (await this.operator.call('GET', path)).body;
  }
}
