import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { DomainError } from '@tenantlab/shared';
import type { Request, Response } from 'express';
import { bearerTokenOf } from '../auth/bearer-token.decorator';
import { TrustedCallers } from '../auth/trusted-callers';
import { sha256Hex } from '../auth/vm-secrets';
import { PartyAdmission, type Release } from './party-admission';
import { TokenTenants } from './token-tenants';

/** A call whose client went away while it waited for its turn: nobody is left to answer. */
class CallerGoneError extends DomainError {
  constructor() {
    super('CALLER_GONE', 'the caller closed its connection while its call waited for its turn');
  }
}

/**
 * Makes a call to the operator's own work (circuits, listeners, the registry) wait for its tenant's turn
 * (PartyAdmission) before anything else is done for it, authentication included: a VM token the operator has seen
 * work names its tenant (TokenTenants); any other call, a new VM's registration or a made-up token, takes the turn of
 * the address it comes from. The admin and service tokens never wait. The place is given back when the response
 * closes, however it ends. Must come before the route's own guards.
 */
@Injectable()
export class TenantTurnsGuard implements CanActivate {
  constructor(
    private readonly admission: PartyAdmission,
    private readonly tokenTenants: TokenTenants,
    private readonly trusted: TrustedCallers,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const token = bearerTokenOf(request);
    if (token !== undefined && this.trusted.isTrusted(token)) return true;
    const tenant = token === undefined ? undefined : this.tokenTenants.tenantOf(sha256Hex(token));
    const party = tenant === undefined ? `address ${request.socket.remoteAddress ?? 'unknown'}` : `tenant ${tenant}`;
    // The response may close while the call waits (its caller gave up): its place must come back all the same.
    const call: { release?: Release; closed: boolean } = { closed: false };
    response.once('close', () => {
      call.closed = true;
      call.release?.();
    });
    call.release = await this.admission.admit(party);
    if (call.closed) {
      call.release();
      throw new CallerGoneError();
    }
    return true;
  }
}
