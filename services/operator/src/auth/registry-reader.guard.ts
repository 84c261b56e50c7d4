import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { RegistryService } from '../registry/registry.service';
import { UnauthenticatedError } from './auth.errors';
import { bearerTokenOf } from './bearer-token.decorator';
import { TrustedCallers } from './trusted-callers';

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
  constructor(
    private readonly trusted: TrustedCallers,
    private readonly registry: RegistryService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RegistryReaderRequest>();
    const token = bearerTokenOf(request);
    if (token === undefined) {
      throw new UnauthenticatedError(
        "reading the registry needs a token: send Authorization: Bearer <token>, a VM's token (its own tenant's VMs), or the admin or a service token (every VM)",
      );
    }
    request.registryReader = this.trusted.isTrusted(token)
      ? { scope: 'lab' }
      : { scope: 'tenant', tenant: (await this.registry.authenticate(token)).tenant };
    return true;
  }
}

/** The reader RegistryReaderGuard let in. Only for handlers behind that guard. */
export const CallerRegistryReader = createParamDecorator((_: unknown, context: ExecutionContext): RegistryReader => {
  const reader = context.switchToHttp().getRequest<RegistryReaderRequest>().registryReader;
  // A handler without the guard is a programming error, not a client's.
  if (!reader) throw new Error('CallerRegistryReader used on a handler without RegistryReaderGuard');
  return reader;
});
