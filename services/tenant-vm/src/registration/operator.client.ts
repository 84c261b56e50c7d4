import { Inject, Injectable } from '@nestjs/common';
import { DependencyUnavailableError, requestJson } from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';

export interface VmRegistration {
  id: string;
  tenant: string;
  url: string;
}

/** The operator's registry API as this VM uses it. All HTTP I/O of registration lives here. */
@Injectable()
export class OperatorClient {
  constructor(@Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig) {}

  async register(registration: VmRegistration): Promise<void> {
    const { status, body } = await requestJson('POST', `${this.config.OPERATOR_URL}/vms`, registration);
    if (status !== 200 && status !== 201) throw this.refused('registration', status, body);
  }

  /** Returns false when the operator no longer knows this VM (it must register again). */
  async heartbeat(id: string): Promise<boolean> {
    const { status, body } = await requestJson('POST', `${this.config.OPERATOR_URL}/vms/${id}/heartbeat`);
    if (status === 204) return true;
    if (status === 404) return false;
    throw this.refused('heartbeat', status, body);
  }

  async deregister(id: string): Promise<void> {
    await requestJson('DELETE', `${this.config.OPERATOR_URL}/vms/${id}`, undefined, 1000);
  }

  private refused(what: string, status: number, body: unknown): Error {
    const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? `HTTP ${status}`;
    // 4xx means the operator understood and said no: retrying the same request cannot help.
    return status >= 500
      ? new DependencyUnavailableError(`operator refused ${what}: ${message}`)
      : new Error(`operator refused ${what}: ${message}`);
  }
}
