import { Injectable } from '@nestjs/common';
import { type CircuitDescriptor, type CircuitMode, type JsonResponse } from '@tenantlab/shared';
import { operatorRefusal } from '../registration/operator-refusal';
import { RegistrationService } from '../registration/registration.service';

/** The operator's circuit broker API as this VM uses it, authenticated with the token from registration. */
@Injectable()
export class CircuitBrokerClient {
  constructor(private readonly registration: RegistrationService) {}

  async listen(service: string): Promise<void> {
    const response = await this.call('POST', '/listeners', { service });
    if (response.status !== 201) throw operatorRefusal(`listen on ${service}`, response);
  }

  async unlisten(service: string): Promise<void> {
    const response = await this.call('DELETE', `/listeners/${encodeURIComponent(service)}`);
    if (response.status !== 204 && response.status !== 404)
      throw operatorRefusal(`stop listening on ${service}`, response);
  }

  async connect(target: string, mode: CircuitMode): Promise<CircuitDescriptor> {
    const response = await this.call('POST', '/circuits', { target, mode });
    if (response.status !== 201) throw operatorRefusal(`connect to ${target}`, response);
    return response.body as CircuitDescriptor;
  }

  /** Asks the operator to tear a finished circuit down; already gone is fine (the peer may have asked first). */
  async close(circuitId: string): Promise<void> {
    const response = await this.call('DELETE', `/circuits/${circuitId}`);
    if (response.status !== 204 && response.status !== 404)
      throw operatorRefusal(`close circuit ${circuitId}`, response);
  }

  private call(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<JsonResponse<unknown>> {
    return this.registration.callOperator(method, path, body, 5000);
  }
}
