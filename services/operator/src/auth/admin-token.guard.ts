import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { ForbiddenError, UnauthenticatedError } from './auth.errors';
import { bearerTokenOf } from './bearer-token.decorator';
import { sameDigest, sha256Hex } from './vm-secrets';

/**
 * For the admin API (tenants): `Authorization: Bearer <OPERATOR_ADMIN_TOKEN>`. No token: 401; another token: 403.
 * The tokens are compared as sha256 digests in constant time, so timing tells nothing about the admin token.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly isAdminToken: ((token: string) => boolean) | undefined;

  constructor(@Inject(OPERATOR_CONFIG) config: Pick<OperatorConfig, 'OPERATOR_ADMIN_TOKEN'>) {
    this.isAdminToken = adminTokenMatcher(config);
  }

  canActivate(context: ExecutionContext): boolean {
    const token = bearerTokenOf(context.switchToHttp().getRequest<Request>());
    if (token === undefined) {
      throw new UnauthenticatedError('the admin API needs the admin token: send Authorization: Bearer <admin token>');
    }
    if (this.isAdminToken === undefined) {
      throw new ForbiddenError('the admin API is disabled: the operator was started without OPERATOR_ADMIN_TOKEN');
    }
    if (!this.isAdminToken(token)) {
      throw new ForbiddenError('the bearer token is not the admin token (OPERATOR_ADMIN_TOKEN)');
    }
    return true;
  }
}

/**
 * Whether a token is OPERATOR_ADMIN_TOKEN, compared as sha256 digests in constant time; undefined when the operator
 * has no admin token (the admin API is then off).
 */
export function adminTokenMatcher(
  config: Pick<OperatorConfig, 'OPERATOR_ADMIN_TOKEN'>,
): ((token: string) => boolean) | undefined {
  if (config.OPERATOR_ADMIN_TOKEN === undefined) return undefined;
  const adminTokenHash = sha256Hex(config.OPERATOR_ADMIN_TOKEN);
  return (token) => sameDigest(adminTokenHash, sha256Hex(token));
}
