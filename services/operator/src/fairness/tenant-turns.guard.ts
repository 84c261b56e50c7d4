import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { DomainError, TENANT_SECRET_HEADER } from '@tenantlab/shared';
import type { Request, Response } from 'express';
import { bearerTokenOf } from '../auth/bearer-token.decorator';
import { TrustedCallers } from '../auth/trusted-callers';
import { sha256Hex } from '../auth/vm-secrets';
import { PartyAdmission, type Release } from './party-admission';
import { SecretTenants } from './secret-tenants';
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
 * work names its tenant (TokenTenants), and so does a declared tenant's enrollment secret (SecretTenants: a new VM's
 * registration); any other call, a made-up token or secret, takes the turn of the address it comes from. The admin
 * and service tokens never wait. The place is given back when the response closes, however it ends. Must come
 * before the route's own guards.
 */
@Injectable()
export class TenantTurnsGuard implements CanActivate {
  constructor(
    private readonly admission: PartyAdmission,
    private readonly tokenTenants: TokenTenants,
    private readonly secretTenants: SecretTenants,
    private readonly trusted: TrustedCallers,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const token = bearerTokenOf(request);
    if (token !== undefined && this.trusted.isTrusted(token)) return true;
    const secret = request.headers[TENANT_SECRET_HEADER];
    const tenant = this.tenantOf(token, typeof secret === 'string' ? secret : undefined);
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

  /** The tenant a known VM token or enrollment secret is of; none for anything else. */
  private tenantOf(token: string | undefined, tenantSecret: string | undefined): string | undefined {
    if (token !== undefined) {
      const tenant = this.tokenTenants.tenantOf(sha256Hex(token));
      if (tenant !== undefined) return tenant;
    }
    return tenantSecret ? this.secretTenants.tenantOf(sha256Hex(tenantSecret)) : undefined;
  }
}
