import { Inject, Injectable } from '@nestjs/common';
import type { JsonResponse, PageTable, ProgramResources, ValidProgram } from '@tenantlab/shared';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { remoteError, send } from './remote-error';

/** The allocator's answer to a program it admitted and linked. */
export interface ProgramAdmitted {
  version: number;
  pageTable: PageTable;
  resources: ProgramResources;
}

/** The allocator's linked pipeline (`GET /pipeline`): every tenant's program with its page table. */
export interface LinkedPipeline {
  version: number;
  createdAt: string;
  tenants: Record<string, { program: ValidProgram; pageTable: PageTable }>;
}

/** Programs get validated, placed and linked there; it answers within this, or the tenant hears 503. */
const ALLOCATOR_TIMEOUT_MS = 10_000;

/**
 * All HTTP I/O with the allocator. It trusts its caller to name the tenant, so every method takes the tenant the
 * operator authenticated, never one from a request.
 */
@Injectable()
export class AllocatorClient {
  constructor(
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'ALLOCATOR_URL' | 'SERVICE_TOKEN'>,
  ) {}

  /** `created` when the tenant had no program before (allocator 201), false when this one replaced it (200). */
  async submit(
    tenant: string,
    vms: readonly string[],
    program: unknown,
  ): Promise<{ created: boolean; admitted: ProgramAdmitted }> {
    const response = await this.call<ProgramAdmitted>('PUT', `/tenants/${encodeURIComponent(tenant)}/program`, {
      vms,
      program,
    });
    return { created: response.status === 201, admitted: response.body };
  }

  async remove(tenant: string): Promise<void> {
    await this.call('DELETE', `/tenants/${encodeURIComponent(tenant)}/program`);
  }

  /** The current pipeline, or undefined when none has been linked yet (allocator 404). */
  async pipeline(): Promise<LinkedPipeline | undefined> {
    const response = await this.call<LinkedPipeline>('GET', '/pipeline', undefined, { absentOn404: true });
    return response.status === 404 ? undefined : response.body;
  }

  private async call<T>(
    method: 'GET' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    options: { absentOn404?: boolean } = {},
  ): Promise<JsonResponse<T>> {
    const response = await send<T>(
      'allocator',
      this.config.ALLOCATOR_URL,
      method,
      path,
      body,
      ALLOCATOR_TIMEOUT_MS,
      this.config.SERVICE_TOKEN,
    );
    if (response.status >= 200 && response.status < 300) return response;
    if (options.absentOn404 && response.status === 404) return response;
    throw remoteError('allocator', `${method} ${path}`, response);
  }
}
