import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { idParam, NAME_PATTERN, NotFoundError, ValidationError } from '@tenantlab/shared';
import type { KeyMatchInput, TableEntryInput } from '../programs';
import { DataplaneService } from './dataplane.service';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiErrors,
  COUNTER_CELL_SCHEMA,
  REGISTER_CELL_SCHEMA,
  strictObject,
  TABLE_ENTRIES_SCHEMA,
  TENANT_PORTS_SCHEMA,
} from '@tenantlab/shared';

/**
 * Tenant programs on the switch as the operator reaches them, always for one tenant named by the operator (this is
 * a trusted, internal API; tenants go through the operator, which puts their own tenant in the path). Bodies are
 * checked against the table's declaration by the compiled program itself.
 */
@Controller('tenants/:tenant')
@ApiTags('programs')
@ApiErrors(404)
export class TenantProgramsController {
  constructor(private readonly dataplane: DataplaneService) {}

  /**
   * The tenant's ports on the switch, by VM: the numbers its programs see as `std.in_port`. Numbers are the switch's
   * own, given as it attaches ports, so a restarted switch may number them anew. Its own ports only; no program needed.
   */
  @Get('ports')
  @ApiAnswer(200, TENANT_PORTS_SCHEMA, "the tenant's ports and their numbers")
  ports(@Param('tenant') tenant: string): { tenant: string; ports: { vm: string; port: number }[] } {
    const own = idParam('tenant', tenant);
    const ports = this.dataplane
      .ports()
      .filter((port) => port.tenant === own)
      .map((port) => ({ vm: port.vm, port: port.no }))
      .sort((x, y) => x.port - y.port);
    return { tenant: own, ports };
  }

  @Get('program')
  @ApiAnswer(
    200,
    strictObject({ tenant: { type: 'string' }, name: { type: 'string' }, version: { type: 'integer' } }),
    "the tenant's installed program",
  )
  program(@Param('tenant') tenant: string): { tenant: string; name: string; version: number } {
    const program = this.dataplane.programOf(idParam('tenant', tenant));
    return { tenant, name: program.name, version: program.version };
  }

  @Post('tables/:table/entries')
  @ApiBody({
    schema: {
      type: 'object',
      description: '{ key, action, args?, priority? }: checked against the table by the compiled program',
    },
  })
  @ApiAnswer(201, TABLE_ENTRIES_SCHEMA, 'added')
  @ApiErrors(409)
  addEntry(
    @Param('tenant') tenant: string,
    @Param('table') table: string,
    @Body() entry: TableEntryInput,
  ): { table: string; entries: number } {
    const program = this.dataplane.programOf(idParam('tenant', tenant));
    named(program.name, 'table', table, () => program.addEntry(table, entry));
    return { table, entries: program.entryCount(table) };
  }

  @Delete('tables/:table/entries')
  @HttpCode(204)
  @ApiBody({ schema: { type: 'object', description: '{ key }: the entry to remove' } })
  @ApiAnswer(204, undefined, 'removed')
  removeEntry(
    @Param('tenant') tenant: string,
    @Param('table') table: string,
    @Body() body: { key?: readonly KeyMatchInput[] },
  ): void {
    const program = this.dataplane.programOf(idParam('tenant', tenant));
    if (!Array.isArray(body.key))
      throw new ValidationError('key is required: the entry key to remove', ['key: required']);
    const key = body.key;
    if (!named(program.name, 'table', table, () => program.removeEntry(table, key))) {
      throw new NotFoundError(`table ${table} has no entry with that key`);
    }
  }

  @Get('registers/:register/:index')
  @ApiAnswer(200, REGISTER_CELL_SCHEMA, 'the cell')
  register(
    @Param('tenant') tenant: string,
    @Param('register') register: string,
    @Param('index') index: string,
  ): { register: string; index: number; value: string } {
    const program = this.dataplane.programOf(idParam('tenant', tenant));
    const at = validIndex(index);
    const value = named(program.name, 'register', register, () => program.memory.read(register, at));
    return { register, index: at, value: value.toString() };
  }

  @Get('counters/:counter/:index')
  @ApiAnswer(200, COUNTER_CELL_SCHEMA, 'the cell')
  counter(
    @Param('tenant') tenant: string,
    @Param('counter') counter: string,
    @Param('index') index: string,
  ): { counter: string; index: number; packets: number; bytes: number } {
    const program = this.dataplane.programOf(idParam('tenant', tenant));
    const at = validIndex(index);
    return { counter, index: at, ...named(program.name, 'counter', counter, () => program.counter(counter, at)) };
  }
}

function validIndex(index: string): number {
  const value = Number(index);
  if (!/^\d{1,15}$/.test(index) || !Number.isSafeInteger(value)) {
    throw new ValidationError('index is invalid: expected a non-negative integer', [
      'index: not a non-negative integer',
    ]);
  }
  return value;
}

/** Runs `use`, turning the compiled program's "no such name" into a 404 that names what is missing. */
function named<T>(program: string, kind: string, name: string, use: () => T): T {
  if (!NAME_PATTERN.test(name)) {
    throw new ValidationError(`${kind} is invalid: expected a program name such as flows`, [`${kind}: invalid name`]);
  }
  try {
    return use();
  } catch (error) {
    if (error instanceof RangeError) throw new NotFoundError(`program ${program} has no ${kind} ${name}`);
    throw error;
  }
}
