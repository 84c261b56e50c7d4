import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { Response } from 'express';
import { TenantCallBudgetGuard } from '../auth/tenant-call-budget.guard';
import { TenantCallBudgetInterceptor } from '../auth/tenant-call-budget.interceptor';
import { CallerVm, VmAuthGuard } from '../auth/vm-auth.guard';
import type { VmRecord } from '../registry/vm-record';
import type { ProgramAdmitted } from './allocator.client';
import { SubmitProgramDto } from './dto/submit-program.dto';
import { TableEntryDto, TableKeyDto } from './dto/table-entry.dto';
import { cellIndex, programName } from './program-names';
import { ProgramsService, type TenantProgramView } from './programs.service';
import type { CounterCellView, RegisterCellView, TableEntriesView, TenantPortsView } from './switch.client';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiErrors,
  COUNTER_CELL_SCHEMA,
  PROGRAM_ADMITTED_SCHEMA,
  REGISTER_CELL_SCHEMA,
  TABLE_ENTRIES_SCHEMA,
  TENANT_PORTS_SCHEMA,
} from '@tenantlab/shared';
import { TENANT_PROGRAM_SCHEMA } from '../openapi.schemas';

/** The caller tenant's switch program; the bearer token says which VM, and so which tenant, is asking. */
@Controller('program')
// A tenant already over its budget is refused before its call is authenticated (two Redis round trips saved).
@UseGuards(TenantCallBudgetGuard, VmAuthGuard)
@UseInterceptors(TenantCallBudgetInterceptor)
@ApiTags('programs')
@ApiBearerAuth('vm')
@ApiErrors(401, 403, 429, 502)
export class ProgramsController {
  constructor(private readonly programs: ProgramsService) {}

  /** 201 when the tenant had no program, 200 when this one replaced it. */
  @Put()
  @ApiAnswer(201, PROGRAM_ADMITTED_SCHEMA, 'admitted; the tenant had no program')
  @ApiAnswer(200, PROGRAM_ADMITTED_SCHEMA, 'admitted in place of the previous one')
  @ApiErrors(409)
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
  @ApiAnswer(200, TENANT_PROGRAM_SCHEMA, "the tenant's program in the pipeline")
  @ApiErrors(404)
  get(@CallerVm() caller: VmRecord): Promise<TenantProgramView> {
    return this.programs.get(caller);
  }

  @Delete()
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'removed')
  @ApiErrors(404)
  remove(@CallerVm() caller: VmRecord): Promise<void> {
    return this.programs.remove(caller);
  }

  /** The caller tenant's VMs and their port numbers on the switch, as programs see them in `std.in_port`. */
  @Get('ports')
  @ApiAnswer(200, TENANT_PORTS_SCHEMA, "the caller tenant's VMs and their port numbers")
  ports(@CallerVm() caller: VmRecord): Promise<TenantPortsView> {
    return this.programs.ports(caller);
  }

  @Post('tables/:table/entries')
  @ApiAnswer(201, TABLE_ENTRIES_SCHEMA, 'added; how many entries the table holds')
  @ApiErrors(404, 409)
  addEntry(
    @CallerVm() caller: VmRecord,
    @Param('table') table: string,
    @Body() body: TableEntryDto,
  ): Promise<TableEntriesView> {
    return this.programs.addEntry(caller, programName('table', table), body);
  }

  @Delete('tables/:table/entries')
  @HttpCode(204)
  @ApiAnswer(204, undefined, 'removed')
  @ApiErrors(404)
  removeEntry(@CallerVm() caller: VmRecord, @Param('table') table: string, @Body() body: TableKeyDto): Promise<void> {
    return this.programs.removeEntry(caller, programName('table', table), body);
  }

  @Get('registers/:register/:index')
  @ApiAnswer(200, REGISTER_CELL_SCHEMA, 'the cell')
  @ApiErrors(404)
  readRegister(
    @CallerVm() caller: VmRecord,
    @Param('register') register: string,
    @Param('index') index: string,
  ): Promise<RegisterCellView> {
    return this.programs.readRegister(caller, programName('register', register), cellIndex('index', index));
  }

  @Get('counters/:counter/:index')
  @ApiAnswer(200, COUNTER_CELL_SCHEMA, 'the cell')
  @ApiErrors(404)
  readCounter(
    @CallerVm() caller: VmRecord,
    @Param('counter') counter: string,
    @Param('index') index: string,
  ): Promise<CounterCellView> {
    return this.programs.readCounter(caller, programName('counter', counter), cellIndex('index', index));
  }
}
