import { Controller, Get } from '@nestjs/common';
import { ComponentsService } from './components.service';
import { ApiAnswer } from '@tenantlab/shared';

@Controller('components')
export class ComponentsController {
  constructor(private readonly components: ComponentsService) {}

  @Get()
  @ApiAnswer(200, { type: 'object', required: ['components'] }, "each component's heartbeats and state")
  list(): ReturnType<ComponentsService['snapshot']> {
    return this.components.snapshot();
  }
}
