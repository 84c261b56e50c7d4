import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { TokenTenants } from '../fairness/token-tenants';
import { bearerTokenOf } from './bearer-token.decorator';
import { refuseOverBudget, TenantCallBudget } from './tenant-call-budget';
import { sha256Hex } from './vm-secrets';

/**
 * Refuses a call of a tenant already over its budget of forwarded calls before it is authenticated: authenticating
 * costs two Redis round trips, and a flood past the budget would otherwise make the operator spend them on every call
 * it refuses. The tenant is the one TokenTenants remembers for the token; a token it does not know goes on to
 * VmAuthGuard, and every call that gets through is charged after it (TenantCallBudgetInterceptor), which stays the
 * authority. Takes nothing from the budget. Must come before VmAuthGuard.
 */
@Injectable()
export class TenantCallBudgetGuard implements CanActivate {
  constructor(
    private readonly budget: TenantCallBudget,
    private readonly tokenTenants: TokenTenants,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const token = bearerTokenOf(http.getRequest<Request>());
    const tenant = token === undefined ? undefined : this.tokenTenants.tenantOf(sha256Hex(token));
    const refusal = tenant === undefined ? undefined : this.budget.refusalFor(tenant);
    if (tenant === undefined || refusal === undefined) return true;
    return refuseOverBudget(http.getResponse<Response>(), tenant, refusal);
  }
}
