import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { CallerVm, VmAuthGuard } from '../auth/vm-auth.guard';
import type { VmRecord } from '../registry/vm-record';
import type { ProgramAdmitted } from './allocator.client';
import { SubmitProgramDto } from './dto/submit-program.dto';
import { TableEntryDto, TableKeyDto } from './dto/table-entry.dto';
import { cellIndex, programName } from './program-names';
import { ProgramsService, type TenantProgramView } from './programs.service';
import type { CounterCellView, RegisterCellView, TableEntriesView, TenantPortsView } from './switch.client';

/** The caller tenant's switch program; the bearer token says which VM, and so which tenant, is asking. */
@Controller('program')
@UseGuards(VmAuthGuard)
export class ProgramsController {
  constructor(private readonly programs: ProgramsService) {}

  /** 201 when the tenant had no program, 200 when this one replaced it. */
  @Put()
  async submit(
    @CallerVm() caller: VmRecord,
    @Body() body: SubmitProgramDto,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ProgramAdmitted> {
    const { created, admitted } = await this.programs.submit(caller, body.program);
    response.status(created ? 201 : 200);
    return admitted;
  }

  @Get()
  get(@CallerVm() caller: VmRecord): Promise<TenantProgramView> {
    return this.programs.get(caller);
  }

  @Delete()
  @HttpCode(204)
  remove(@CallerVm() caller: VmRecord): Promise<void> {
    return this.programs.remove(caller);
  }

  /** The caller tenant's VMs and their port numbers on the switch, as programs see them in `std.in_port`. */
  @Get('ports')
  ports(@CallerVm() caller: VmRecord): Promise<TenantPortsView> {
    return this.programs.ports(caller);
  }

  @Post('tables/:table/entries')
  addEntry(
    @CallerVm() caller: VmRecord,
    @Param('table') table: string,
    @Body() body: TableEntryDto,
  ): Promise<TableEntriesView> {
    return this.programs.addEntry(caller, programName('table', table), body);
  }

  @Delete('tables/:table/entries')
  @HttpCode(204)
  removeEntry(@CallerVm() caller: VmRecord, @Param('table') table: string, @Body() body: TableKeyDto): Promise<void> {
    return this.programs.removeEntry(caller, programName('table', table), body);
  }

  @Get('registers/:register/:index')
  readRegister(
    @CallerVm() caller: VmRecord,
    @Param('register') register: string,
    @Param('index') index: string,
  ): Promise<RegisterCellView> {
    return this.programs.readRegister(caller, programName('register', register), cellIndex('index', index));
  }

  @Get('counters/:counter/:index')
  readCounter(
    @CallerVm() caller: VmRecord,
    @Param('counter') counter: string,
    @Param('index') index: string,
  ): Promise<CounterCellView> {
    return this.programs.readCounter(caller, programName('counter', counter), cellIndex('index', index));
  }
}
