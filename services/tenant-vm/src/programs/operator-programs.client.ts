import { Inject, Injectable } from '@nestjs/common';
import {
  DependencyUnavailableError,
  DomainError,
  type JsonResponse,
  requestJson,
  ValidationError,
} from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { RegistrationService } from '../registration/registration.service';

interface ErrorBody {
  error?: { code?: string; message?: string; retriable?: boolean; details?: string[] };
}

/**
 * The operator's tenant program API (`/program...`) as this VM calls it with its own token: the operator then acts
 * for this VM's tenant, and no other. Answers come back as they are; refusals keep the operator's code.
 */
@Injectable()
export class OperatorProgramsClient {
  constructor(
    @Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig,
    private readonly registration: RegistrationService,
  ) {}

  async call<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<JsonResponse<T>> {
    const credentials = this.registration.credentials();
    if (!credentials) {
      throw new DependencyUnavailableError('this VM is not registered with the operator yet; try again shortly');
    }
    const response = await requestJson<T>(method, `${this.config.OPERATOR_URL}${path}`, body, 10_000, {
      authorization: `Bearer ${credentials.token}`,
    });
    if (response.status < 400) return response;
    const error = (response.body as ErrorBody | undefined)?.error;
    const message = `operator refused: ${error?.message ?? `HTTP ${response.status}`}`;
    if (error?.code === 'VALIDATION_FAILED') throw new ValidationError(message, error.details ?? []);
    throw new DomainError(error?.code ?? 'OPERATOR_REFUSED', message, { retriable: error?.retriable ?? false });
  }
}
