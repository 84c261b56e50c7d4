import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { UnauthenticatedError } from './auth.errors';

/**
 * The token of an `Authorization: Bearer <token>` header. Refuses with 401 when there is none, unless
 * `{ optional: true }` (then `undefined`), so handlers that need a token never see a request without one.
 */
export const BearerToken = createParamDecorator(
  (options: { optional?: boolean } | undefined, context: ExecutionContext): string | undefined => {
    const token = bearerTokenOf(context.switchToHttp().getRequest<Request>());
    if (token === undefined && !options?.optional) throw missingTokenError();
    return token;
  },
);

export function missingTokenError(): UnauthenticatedError {
  return new UnauthenticatedError(
    'this call needs the VM token: send Authorization: Bearer <token>, with the token from the POST /vms response',
  );
}

export function bearerTokenOf(request: Request): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}
