import { type JsonResponse, type KafkaCredentials, requestJson, serviceAuthHeaders } from '@tenantlab/shared';
import type { LabState } from '../lab-state';

/** What a stream or datagram workload reports after sending through a circuit. */
export interface SendResult {
  verified: boolean;
  problem?: string;
  circuit: string;
}

/** A tenant VM's HTTP API: workloads over circuits, its circuits, vNIC traffic and its tenant's program. */
export class VmClient {
  constructor(
    readonly id: string,
    readonly url: string,
  ) {}

  echo(service: string): Promise<JsonResponse<unknown>> {
    return requestJson('POST', `${this.url}/workloads/echo`, { service });
  }

  send(body: {
    target: string;
    mode: 'stream' | 'datagram';
    count: number;
    size: number;
  }): Promise<JsonResponse<SendResult & { error?: { code: string } }>> {
    return requestJson('POST', `${this.url}/workloads/send`, body, 60_000);
  }

  circuits(): Promise<JsonResponse<{ circuits: { id: string; state?: string }[] }>> {
    return requestJson('GET', `${this.url}/circuits`);
  }

  generateTraffic(body: {
    to: string[];
    protocol: 'udp' | 'tcp';
    count: number;
    size: number;
  }): Promise<JsonResponse<unknown>> {
    return requestJson('POST', `${this.url}/traffic/generate`, body, 60_000);
  }

  received(): Promise<JsonResponse<{ total: number; bySource: Record<string, { received: number }> }>> {
    return requestJson('GET', `${this.url}/traffic/received`);
  }

  putProgram(program: unknown): Promise<JsonResponse<unknown>> {
    return requestJson('PUT', `${this.url}/program`, program);
  }

  ready(): Promise<JsonResponse<unknown>> {
    return requestJson('GET', `${this.url}/ready`);
  }
}

/** Jaeger's query API (the v1 HTTP JSON API that Jaeger v2 still serves at /api). */
export class JaegerClient {
  constructor(readonly url: string) {}

  async services(): Promise<string[]> {
    return (await requestJson<{ data?: string[] }>('GET', `${this.url}/api/services`)).body.data ?? [];
  }

  async traces(
    service: string,
    operation: string,
  ): Promise<
    { traceID: string; spans: { operationName: string }[]; processes: Record<string, { serviceName: string }> }[]
  > {
    const query = new URLSearchParams({ service, operation, limit: '50', lookback: '1h' });
    const { status, body } = await requestJson<{ data?: [] }>('GET', `${this.url}/api/traces?${query.toString()}`);
    if (status !== 200) throw new Error(`Jaeger answered HTTP ${status}`);
    return body.data ?? [];
  }
}

/**
 * A plain JSON client for one service (operator, switch, allocator, telemetry): GET/PUT on its URL, with the lab's
 * admin token when it has one (the switch, the allocator, telemetry and the operator's registry refuse calls without a
 * service credential).
 */
export class ServiceClient {
  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  get<T>(path: string): Promise<JsonResponse<T>> {
    return requestJson<T>('GET', `${this.url}${path}`, undefined, 3000, this.headers());
  }

  put<T>(path: string, body: unknown): Promise<JsonResponse<T>> {
    return requestJson<T>('PUT', `${this.url}${path}`, body, 3000, this.headers());
  }

  private headers(): Record<string, string> {
    return this.token === undefined ? {} : serviceAuthHeaders(this.token);
  }
}

export interface LabClients {
  operator: ServiceClient;
  switch: ServiceClient;
  allocator: ServiceClient;
  telemetry: ServiceClient;
  jaeger: JaegerClient;
  /** By VM id. */
  vms: Record<string, VmClient>;
  /** Kafka's bootstrap address for clients on the host. */
  kafkaBrokers: string;
  /** The lab's Kafka admin user (its password is the admin token): the broker takes only authenticated clients. */
  kafkaCredentials?: KafkaCredentials;
}

/** The Kafka admin user of a lab with an admin token, in either mode (see LabClients.kafkaCredentials). */
export function kafkaAdminCredentials(_state: LabState, adminToken?: string): KafkaCredentials | undefined {
  return adminToken ? { username: 'admin', password: adminToken } : undefined;
}

/** Clients of a running lab; `adminToken` (the profile's `service-token-admin`) for the guarded services. */
export function labClients(state: LabState, adminToken?: string): LabClients {
  const url = (name: string): string => {
    const component = state.components.find((c) => c.name === name);
    if (!component) throw new Error(`no component ${name} in the lab`);
    return component.url;
  };
  return {
    operator: new ServiceClient(url('operator'), adminToken),
    switch: new ServiceClient(url('switch'), adminToken),
    allocator: new ServiceClient(url('allocator'), adminToken),
    telemetry: new ServiceClient(url('telemetry'), adminToken),
    jaeger: new JaegerClient(url('jaeger')),
    vms: Object.fromEntries(
      state.components.filter((c) => c.kind === 'vm').map((c) => [c.name, new VmClient(c.name, c.url)]),
    ),
    kafkaBrokers: url('kafka'),
    kafkaCredentials: kafkaAdminCredentials(state, adminToken),
  };
}
