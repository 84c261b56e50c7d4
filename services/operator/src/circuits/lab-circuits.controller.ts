import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, strictObject } from '@tenantlab/shared';
import { ServiceCallerGuard } from '../auth/service-caller.guard';
import { CircuitsRepository, type RingStats } from './circuits.repository';

const RING_STATS_SCHEMA = strictObject({
  entriesAdded: { type: 'integer' },
  length: { type: 'integer' },
  bytes: { type: 'integer' },
});
const ENDPOINT_SCHEMA = strictObject({ vm: { type: 'string' }, tenant: { type: 'string' } });

export interface LabCircuitView {
  id: string;
  service: string;
  mode: string;
  state: string;
  createdAt: number;
  a: { vm: string; tenant: string };
  b: { vm: string; tenant: string };
  rings: { a2b: RingStats; b2a: RingStats };
}

/**
 * Every circuit of the lab with its rings' figures, for trusted services (telemetry's dashboard): which VMs it joins,
 * its state, and per ring the entries ever written (XINFO's entries-added), the entries and bytes it holds now.
 */
@Controller('lab/circuits')
@UseGuards(ServiceCallerGuard)
@ApiTags('circuits')
@ApiBearerAuth('service')
@ApiErrors(401, 403)
export class LabCircuitsController {
  constructor(private readonly circuits: CircuitsRepository) {}

  @Get()
  @ApiAnswer(
    200,
    strictObject({
      circuits: {
        type: 'array',
        items: strictObject({
          id: { type: 'string' },
          service: { type: 'string' },
          mode: { type: 'string' },
          state: { type: 'string' },
          createdAt: { type: 'integer' },
          a: ENDPOINT_SCHEMA,
          b: ENDPOINT_SCHEMA,
          rings: strictObject({ a2b: RING_STATS_SCHEMA, b2a: RING_STATS_SCHEMA }),
        }),
      },
    }),
    "every circuit and its rings' figures",
  )
  async list(): Promise<{ circuits: LabCircuitView[] }> {
    const records = (await this.circuits.all()).sort((x, y) => x.createdAt - y.createdAt);
    const stats = await this.circuits.ringStats(records.map((record) => record.id));
    return {
      circuits: records.map((record, i) => ({
        id: record.id,
        service: record.service,
        mode: record.mode,
        state: record.state,
        createdAt: record.createdAt,
        a: { vm: record.a.vm, tenant: record.a.tenant },
        b: { vm: record.b.vm, tenant: record.b.tenant },
        rings: stats[i] ?? { a2b: EMPTY_RING, b2a: EMPTY_RING },
      })),
    };
  }
}

const EMPTY_RING: RingStats = { entriesAdded: 0, length: 0, bytes: 0 };
