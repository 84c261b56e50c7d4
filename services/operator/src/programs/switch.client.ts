import { Inject, Injectable } from '@nestjs/common';
import type { ImpairmentCleared, ImpairmentSpec, ImpairmentView, JsonResponse } from '@tenantlab/shared';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import type { TableEntryDto, TableKeyDto } from './dto/table-entry.dto';
import { remoteError, send } from './remote-error';

export interface TableEntriesView {
  table: string;
  /** How many entries the table holds now. */
  entries: number;
}

export interface RegisterCellView {
  register: string;
  index: number;
  /** Decimal: registers may be wider than 64 bits. */
  value: string;
}

export interface CounterCellView {
  counter: string;
  index: number;
  packets: number;
  bytes: number;
}

/** A tenant's ports on the switch: the `std.in_port` number of each of its VMs. */
export interface TenantPortsView {
  tenant: string;
  ports: { vm: string; port: number }[];
}

/** The switch answers from memory; anything slower than this is the switch in trouble. */
const SWITCH_TIMEOUT_MS = 5000;

/**
 * All HTTP I/O with the switch's control API. The switch trusts its caller to name the tenant, so every method takes
 * the tenant the operator authenticated, never one from a request.
 */
@Injectable()
export class SwitchClient {
  constructor(@Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'SWITCH_URL' | 'SERVICE_TOKEN'>) {}

  async addEntry(tenant: string, table: string, entry: TableEntryDto): Promise<TableEntriesView> {
    return (await this.call<TableEntriesView>('POST', `${this.tenantPath(tenant)}/tables/${table}/entries`, entry))
      .body;
  }

  async removeEntry(tenant: string, table: string, key: TableKeyDto): Promise<void> {
    await this.call('DELETE', `${this.tenantPath(tenant)}/tables/${table}/entries`, key);
  }

  async readRegister(tenant: string, register: string, index: number): Promise<RegisterCellView> {
    return (await this.call<RegisterCellView>('GET', `${this.tenantPath(tenant)}/registers/${register}/${index}`)).body;
  }

  async readCounter(tenant: string, counter: string, index: number): Promise<CounterCellView> {
    return (await this.call<CounterCellView>('GET', `${this.tenantPath(tenant)}/counters/${counter}/${index}`)).body;
  }

  async ports(tenant: string): Promise<TenantPortsView> {
    return (await this.call<TenantPortsView>('GET', `${this.tenantPath(tenant)}/ports`)).body;
  }

  /** A VM's port impairment on the switch (admin only: the caller checked the admin token and the VM). */
  async setImpairment(vm: string, spec: ImpairmentSpec): Promise<ImpairmentView> {
    return (await this.call<ImpairmentView>('PUT', this.impairmentPath(vm), spec)).body;
  }

  async impairment(vm: string): Promise<ImpairmentView> {
    return (await this.call<ImpairmentView>('GET', this.impairmentPath(vm))).body;
  }

  async clearImpairment(vm: string): Promise<ImpairmentCleared> {
    return (await this.call<ImpairmentCleared>('DELETE', this.impairmentPath(vm))).body;
  }

  private impairmentPath(vm: string): string {
    return `/ports/${encodeURIComponent(vm)}/impairment`;
  }

  private tenantPath(tenant: string): string {
    return `/tenants/${encodeURIComponent(tenant)}`;
  }

  private async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<JsonResponse<T>> {
    const response = await send<T>(
      'switch',
      this.config.SWITCH_URL,
      method,
      path,
      body,
      SWITCH_TIMEOUT_MS,
      this.config.SERVICE_TOKEN,
    );
    if (response.status >= 200 && response.status < 300) return response;
    throw remoteError('switch', `${method} ${path}`, response);
  }
}
