import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { OperatorProgramsClient } from './operator-programs.client';

/**
 * This VM's tenant's switch program, for people and tests working from inside the VM: each call goes to the
 * operator with this VM's token (`PUT /program` takes `{ program }`, as the operator does). The operator decides
 * which tenant; this API cannot name another.
 */
@Controller('program')
export class ProgramsController {
  constructor(private readonly operator: OperatorProgramsClient) {}

  @Put()
  async submit(@Body() body: unknown, @Res({ passthrough: true }) response: Response): Promise<unknown> {
    const answer = await this.operator.call('PUT', '/program', body);
    response.status(answer.status);
    return answer.body;
  }

  @Get()
  async get(): Promise<unknown> {
    return (await this.operator.call('GET', '/program')).body;
  }

  @Delete()
  @HttpCode(204)
  async remove(): Promise<void> {
    await this.operator.call('DELETE', '/program');
  }

  @Post('tables/:table/entries')
  async addEntry(@Param('table') table: string, @Body() body: unknown): Promise<unknown> {
    return (await this.operator.call('POST', `/program/tables/${encodeURIComponent(table)}/entries`, body)).body;
  }

  @Delete('tables/:table/entries')
  @HttpCode(204)
  async removeEntry(@Param('table') table: string, @Body() body: unknown): Promise<void> {
    await this.operator.call('DELETE', `/program/tables/${encodeURIComponent(table)}/entries`, body);
  }

  @Get('registers/:register/:index')
  async register(@Param('register') register: string, @Param('index') index: string): Promise<unknown> {
    const path = `/program/registers/${encodeURIComponent(register)}/${encodeURIComponent(index)}`;
    return (await this.operator.call('GET', path)).body;
  }

  @Get('counters/:counter/:index')
  async counter(@Param('counter') counter: string, @Param('index') index: string): Promise<unknown> {
    const path = `/program/counters/${encodeURIComponent(counter)}/${encodeURIComponent(index)}`;
    return (await this.operator.call('GET', path)).body;
  }
}
