import {
  CanActivate,
  type DynamicModule,
  ExecutionContext,
  Inject,
  Injectable,
  Module,
  SetMetadata,
} from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { type CallerToken, matchCaller } from '../auth';
import { DomainError } from '../errors';

const OPEN_ROUTE = 'tenantlab:open-route';
const SERVICE_AUTH_OPTIONS = Symbol('SERVICE_AUTH_OPTIONS');

/**
 * A route the service-token guard lets through: /health and /ready, for probes and Docker health checks (they show no
 * tenant data), and routes with a guard of their own (telemetry's dashboard, for people with its login token).
 */
export const OpenRoute = (): MethodDecorator & ClassDecorator => SetMetadata(OPEN_ROUTE, true);

/** Whether the route being called is marked OpenRoute, on its handler or its controller. */
export function isOpenRoute(reflector: Reflector, context: ExecutionContext): boolean {
  return (
    reflector.getAllAndOverride<boolean | undefined>(OPEN_ROUTE, [context.getHandler(), context.getClass()]) === true
  );
}

export interface ServiceAuthOptions {
  /** This service's name, for refusals ("the switch"). */
  service: string;
  /** The callers it accepts, each with its token (`CALLER_TOKENS`). */
  callers: readonly CallerToken[];
}

/**
 * Refuses every call that does not carry the token of an accepted caller: 401 UNAUTHENTICATED without
 * `Authorization: Bearer <token>`, 403 FORBIDDEN with a token no accepted caller holds. Routes marked OpenRoute pass.
 */
@Injectable()
export class ServiceAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(SERVICE_AUTH_OPTIONS) private readonly options: ServiceAuthOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (isOpenRoute(this.reflector, context)) return true;
    const { service, callers } = this.options;
    const request = context.switchToHttp().getRequest<Request>();
    const token = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      throw new DomainError(
        'UNAUTHENTICATED',
        `the ${service} needs a service credential: send Authorization: Bearer <token>, with the calling service's ` +
          'token (tenants reach it only through the operator)',
      );
    }
    if (matchCaller(callers, token) === undefined) {
      throw new DomainError(
        'FORBIDDEN',
        `the token in Authorization: Bearer <token> is not a credential of a service allowed to call the ${service}`,
      );
    }
    return true;
  }
}

/** Installs ServiceAuthGuard on every route of the app (an APP_GUARD). */
@Module({})
export class ServiceAuthModule {
  static forRoot(options: ServiceAuthOptions): DynamicModule {
    return {
      module: ServiceAuthModule,
      providers: [
        { provide: SERVICE_AUTH_OPTIONS, useValue: options },
        { provide: APP_GUARD, useClass: ServiceAuthGuard },
      ],
    };
  }
}
