import { Inject, Injectable } from '@nestjs/common';
import {
  type CircuitDescriptor,
  type CircuitMode,
  DependencyUnavailableError,
  DomainError,
  requestJson,
} from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { RegistrationService } from '../registration/registration.service';

interface ErrorBody {
  error?: { code?: string; message?: string; retriable?: boolean; details?: string[] };
}

/** The operator's circuit broker API as this VM uses it, authenticated with the token from registration. */
@Injectable()
export class CircuitBrokerClient {
  constructor(
    @Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig,
    private readonly registration: RegistrationService,
  ) {}

  async listen(service: string): Promise<void> {
    const { status, body } = await this.call('POST', '/listeners', { service });
    if (status !== 201) throw this.refused(`listen on ${service}`, status, body);
  }

  async unlisten(service: string): Promise<void> {
    const { status, body } = await this.call('DELETE', `/listeners/${encodeURIComponent(service)}`);
    if (status !== 204 && status !== 404) throw this.refused(`stop listening on ${service}`, status, body);
  }

  async connect(target: string, mode: CircuitMode): Promise<CircuitDescriptor> {
    const { status, body } = await this.call('POST', '/circuits', { target, mode });
    if (status !== 201) throw this.refused(`connect to ${target}`, status, body);
    return body as CircuitDescriptor;
  }

  /** Asks the operator to tear a finished circuit down; already gone is fine (the peer may have asked first). */
  async close(circuitId: string): Promise<void> {
    const { status, body } = await this.call('DELETE', `/circuits/${circuitId}`);
    if (status !== 204 && status !== 404) throw this.refused(`close circuit ${circuitId}`, status, body);
  }

  private call(method: 'POST' | 'DELETE', path: string, body?: unknown): ReturnType<typeof requestJson> {
    const credentials = this.registration.credentials();
    if (!credentials) {
      throw new DependencyUnavailableError('this VM is not registered with the operator yet; try again shortly');
    }
    return requestJson(method, `${this.config.OPERATOR_URL}${path}`, body, 5000, {
      authorization: `Bearer ${credentials.token}`,
    });
  }

  /** Keeps the operator's code and reason, so the VM's own API can answer with them. */
  private refused(what: string, status: number, body: unknown): DomainError {
    const error = (body as ErrorBody | undefined)?.error;
    const code = error?.code ?? (status >= 500 ? 'DEPENDENCY_UNAVAILABLE' : 'OPERATOR_REFUSED');
    return new DomainError(code, `operator refused to ${what}: ${error?.message ?? `HTTP ${status}`}`, {
      retriable: status >= 500,
    });
  }
}
