import { Inject, Injectable } from '@nestjs/common';
import { DependencyUnavailableError, requestJson, TENANT_SECRET_HEADER } from '@tenantlab/shared';
import { TENANT_VM_CONFIG, TenantVmConfig } from '../config/tenant-vm.config';
import { operatorRefusal } from './operator-refusal';

export interface VmRegistration {
  id: string;
  tenant: string;
  url: string;
}

/** What the operator hands a VM when it registers: shown once, never stored by the operator in clear. */
export interface VmCredentials {
  /** This VM's own Redis ACL user: its inbox and the keys of its live circuits, nothing else. */
  redisUsername: string;
  redisPassword: string;
  /** Bearer token for the operator calls this VM makes about itself (heartbeat, deregister, circuits). */
  token: string;
}

/** The operator's registry API as this VM uses it. All HTTP I/O of registration lives here. */
@Injectable()
export class OperatorClient {
  constructor(@Inject(TENANT_VM_CONFIG) private readonly config: TenantVmConfig) {}

  /**
   * `token` is this VM's current one, if it has one: the operator only lets its holder re-register a live VM. Every
   * registration carries the tenant's enrollment secret (TENANT_SECRET), in the X-Tenant-Secret header.
   */
  async register(registration: VmRegistration, token?: string): Promise<VmCredentials> {
    const response = await requestJson<{ credentials?: VmCredentials }>(
      'POST',
      `${this.config.OPERATOR_URL}/vms`,
      registration,
      undefined,
      { ...authorization(token), [TENANT_SECRET_HEADER]: this.config.TENANT_SECRET },
    );
    if (response.status !== 200 && response.status !== 201) throw operatorRefusal('register this VM', response);
    const credentials = response.body?.credentials;
    if (!credentials?.token || !credentials.redisUsername || !credentials.redisPassword) {
      throw new DependencyUnavailableError('operator accepted the registration but sent no credentials');
    }
    return credentials;
  }

  /**
   * Returns false when the operator no longer accepts this VM's registration: it forgot the VM (404), or the token
   * is no longer the VM's (403: rotated, or the id was claimed after this VM's lease expired). Either way it must
   * register again.
   */
  async heartbeat(id: string, token: string): Promise<boolean> {
    const response = await requestJson(
      'POST',
      `${this.config.OPERATOR_URL}/vms/${id}/heartbeat`,
      undefined,
      undefined,
      authorization(token),
    );
    if (response.status === 204) return true;
    if ([401, 403, 404].includes(response.status)) return false;
    throw operatorRefusal('take the heartbeat', response);
  }

  async deregister(id: string, token: string): Promise<void> {
    await requestJson('DELETE', `${this.config.OPERATOR_URL}/vms/${id}`, undefined, 1000, authorization(token));
  }
}

function authorization(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
