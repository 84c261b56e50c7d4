import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { matchCaller } from '@tenantlab/shared';
import type { Request } from 'express';
import { OPERATOR_CONFIG, type OperatorConfig } from '../config/operator.config';
import { RegistryService } from '../registry/registry.service';
import { UnauthenticatedError } from './auth.errors';
import { bearerTokenOf } from './bearer-token.decorator';
import { sameDigest, sha256Hex } from './vm-secrets';

/** Whose VMs a caller of the registry's read routes may see: every tenant's, or its own tenant's only. */
export type RegistryReader = { scope: 'lab' } | { scope: 'tenant'; tenant: string };

interface RegistryReaderRequest extends Request {
  registryReader?: RegistryReader;
}

/**
 * For GET /vms and GET /vms/:id. The registry names every tenant's VMs and where their control APIs answer, which
 * is a map of the lab for an attacker, so it is not open: a trusted service (CALLER_TOKENS) or the admin token reads
 * the whole lab; a VM's token reads its own tenant's VMs only. No token: 401; a token that is none of these: 403.
 */
@Injectable()
export class RegistryReaderGuard implements CanActivate {
  private readonly adminTokenHash: string | undefined;

  constructor(
    @Inject(OPERATOR_CONFIG) private readonly config: Pick<OperatorConfig, 'CALLER_TOKENS' | 'OPERATOR_ADMIN_TOKEN'>,
    private readonly registry: RegistryService,
  ) {
    this.adminTokenHash =
      config.OPERATOR_ADMIN_TOKEN === undefined ? undefined : sha256Hex(config.OPERATOR_ADMIN_TOKEN);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RegistryReaderRequest>();
    const token = bearerTokenOf(request);
    if (token === undefined) {
      throw new UnauthenticatedError(
        "reading the registry needs a token: send Authorization: Bearer <token>, a VM's token (its own tenant's VMs), or the admin or a service token (every VM)",
      );
    }
    request.registryReader = this.readsTheWholeLab(token)
      ? { scope: 'lab' }
      : { scope: 'tenant', tenant: (await this.registry.authenticate(token)).tenant };
    return true;
  }

  private readsTheWholeLab(token: string): boolean {
    if (matchCaller(this.config.CALLER_TOKENS ?? [], token) !== undefined) return true;
    return this.adminTokenHash !== undefined && sameDigest(this.adminTokenHash, sha256Hex(token));
  }
}

/** The reader RegistryReaderGuard let in. Only for handlers behind that guard. */
export const CallerRegistryReader = createParamDecorator((_: unknown, context: ExecutionContext): RegistryReader => {
  const reader = context.switchToHttp().getRequest<RegistryReaderRequest>().registryReader;
  // A handler without the guard is a programming error, not a client's.
  if (!reader) throw new Error('CallerRegistryReader used on a handler without RegistryReaderGuard');
  return reader;
});
