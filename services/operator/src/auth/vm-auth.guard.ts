import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { RegistryService } from '../registry/registry.service';
import type { VmRecord } from '../registry/vm-record';
import { bearerTokenOf, missingTokenError } from './bearer-token.decorator';

interface AuthenticatedRequest extends Request {
  callerVm?: VmRecord;
}

/**
 * For calls a VM makes about itself (listeners, circuits): the bearer token names the VM, so the body never has to,
 * and one VM can never act as another. Missing token: 401; a token no registered VM holds: 403.
 */
@Injectable()
export class VmAuthGuard implements CanActivate {
  constructor(private readonly registry: RegistryService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerTokenOf(request);
    if (token === undefined) throw missingTokenError();
    request.callerVm = await this.registry.authenticate(token);
    return true;
  }
}

/** The VM that VmAuthGuard authenticated. Only for handlers behind that guard. */
export const CallerVm = createParamDecorator((_: unknown, context: ExecutionContext): VmRecord => {
  const vm = context.switchToHttp().getRequest<AuthenticatedRequest>().callerVm;
  // A handler without the guard is a programming error, not a client's.
  if (!vm) throw new Error('CallerVm used on a handler without VmAuthGuard');
  return vm;
});
