import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiErrors,
  IMPAIRMENT_CLEARED_SCHEMA,
  IMPAIRMENT_VIEW_SCHEMA,
  type ImpairmentCleared,
  ImpairmentSpecDto,
  type ImpairmentView,
  idParam,
  NotFoundError,
} from '@tenantlab/shared';
import { DataplaneService } from '../dataplane/dataplane.service';

/**
 * A VM's port impairment (delay, jitter, loss, reordering, rate), applied by the switch to the frames it delivers to
 * the port. Like every route of the switch it needs a service credential (the operator's, or the lab admin's): a
 * tenant reaches it only through the operator's admin API, never for itself.
 */
@Controller('ports/:vm/impairment')
@ApiTags('impairments')
@ApiErrors(404)
export class ImpairmentsController {
  constructor(private readonly dataplane: DataplaneService) {}

  /** Sets (or replaces) the port's impairment; frames already held keep their due times. */
  @Put()
  @HttpCode(200)
  @ApiAnswer(200, IMPAIRMENT_VIEW_SCHEMA, 'the impairment now in force')
  put(@Param('vm') vm: string, @Body() body: ImpairmentSpecDto): ImpairmentView {
    const port = this.known(vm);
    this.dataplane.impairments.set(port, body);
    return this.dataplane.impairments.view(port);
  }

  @Get()
  @ApiAnswer(200, IMPAIRMENT_VIEW_SCHEMA, "the port's impairment (null: none), what it holds and its counts")
  get(@Param('vm') vm: string): ImpairmentView {
    return this.dataplane.impairments.view(this.known(vm));
  }

  /** Removes the impairment: held frames go to the port at once, in order; later frames take the baseline path. */
  @Delete()
  @HttpCode(200)
  @ApiAnswer(200, IMPAIRMENT_CLEARED_SCHEMA, 'removed (or there was none); held frames flushed')
  remove(@Param('vm') vm: string): ImpairmentCleared {
    const port = this.known(vm);
    const flushed = this.dataplane.impairments.clear(port);
    if (flushed > 0) this.dataplane.wake();
    return { vm: port, flushed };
  }

  /** A VM with a port on the switch, or one whose impairment outlived its port (detached meanwhile). */
  private known(vm: string): string {
    const id = idParam('vm', vm);
    if (this.dataplane.impairments.has(id) || this.dataplane.ports().some((port) => port.vm === id)) return id;
    throw new NotFoundError(`VM ${id} has no port on the switch: register the VM (its vNIC attaches it) first`);
  }
}
