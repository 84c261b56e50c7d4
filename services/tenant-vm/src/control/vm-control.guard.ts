import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { controlTokenMatches, DomainError, isOpenRoute, presentedControlToken } from '@tenantlab/shared';
import type { Request } from 'express';

export const VM_CONTROL_OPTIONS = Symbol('VM_CONTROL_OPTIONS');

export interface VmControlOptions {
  vm: string;
  /** CONTROL_TOKEN_SHA256; unset, every control call is refused. */
  tokenSha256: string | undefined;
}

/**
 * The VM's control API answers only its own control token (see vm-control.ts in the shared library): every other
 * VM, of any tenant, can reach this address, and each call here acts with this VM's credentials. 401
 * UNAUTHENTICATED without a token, 403 FORBIDDEN with another; /health, /ready and /metrics (its own token) pass.
 */
@Injectable()
export class VmControlGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(VM_CONTROL_OPTIONS) private readonly options: VmControlOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (isOpenRoute(this.reflector, context)) return true;
    const { vm, tokenSha256 } = this.options;
    const token = presentedControlToken(context.switchToHttp().getRequest<Request>().headers.authorization);
    if (token === undefined) {
      throw new DomainError(
        'UNAUTHENTICATED',
        `VM ${vm}'s control API needs its control token: send Authorization: Bearer <token> with the token in ` +
          `.lab/<profile>/vm-control-token-${vm}, or use the control URL the lab's tools use (basic auth as user lab)`,
      );
    }
    if (!controlTokenMatches(tokenSha256, token)) {
      throw new DomainError(
        'FORBIDDEN',
        tokenSha256 === undefined
          ? `VM ${vm} was started without CONTROL_TOKEN_SHA256, so its control API answers no one; start it with lab up`
          : `the token presented is not VM ${vm}'s control token`,
      );
    }
    return true;
  }
}
