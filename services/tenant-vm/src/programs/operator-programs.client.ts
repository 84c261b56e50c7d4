import { Injectable } from '@nestjs/common';
import type { JsonResponse } from '@tenantlab/shared';
import { operatorRefusal } from '../registration/operator-refusal';
import { RegistrationService } from '../registration/registration.service';

/**
 * The operator's tenant program API (`/program...`) as this VM calls it with its own token: the operator then acts
 * for this VM's tenant, and no other. Answers come back as they are; refusals keep the operator's code.
 */
@Injectable()
export class OperatorProgramsClient {
  constructor(private readonly registration: RegistrationService) {}

  async call<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<JsonResponse<T>> {
    const response = await this.registration.callOperator<T>(method, path, body);
    if (response.status < 400) return response;
    throw operatorRefusal(`${method} ${path}`, response);
  }
}
