import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { matchCaller } from '@tenantlab/shared';
import type { Request } from 'express';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { ForbiddenError, UnauthenticatedError } from './auth.errors';
import { bearerTokenOf } from './bearer-token.decorator';

/**
 * For the operator's few routes that trusted services read (the whole lab's circuits, for telemetry's dashboard):
 * `Authorization: Bearer <token>` of a caller in CALLER_TOKENS. No token: 401; any other token, a VM's or the admin
 * API's included: 403. Compared as sha256 digests in constant time (matchCaller).
 */
@Injectable()
export class ServiceCallerGuard implements CanActivate {
  constructor(@Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'CALLER_TOKENS'>) {}

  canActivate(context: ExecutionContext): boolean {
    const token = bearerTokenOf(context.switchToHttp().getRequest<Request>());
    if (token === undefined) {
      throw new UnauthenticatedError('this route is for trusted services: send Authorization: Bearer <service token>');
    }
    if (matchCaller(this.config.CALLER_TOKENS ?? [], token) === undefined) {
      throw new ForbiddenError('the bearer token is not a service credential the operator accepts (CALLER_TOKENS)');
    }
    return true;
  }
}
