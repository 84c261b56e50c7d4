import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { finalize, type Observable } from 'rxjs';
import type { VmRecord } from '../registry/vm-record';
import { refuseOverBudget, TenantCallBudget } from './tenant-call-budget';

/**
 * Charges each call a VM makes that the operator forwards to the switch, the allocator or telemetry to its tenant's
 * TenantCallBudget (one budget for all such routes); a call over it is 429 QUOTA_EXCEEDED with Retry-After, and is
 * never forwarded. Runs after VmAuthGuard, which says whose call it is; TenantCallBudgetGuard, before it, refuses
 * a known tenant already over its budget without authenticating the call.
 */
@Injectable()
export class TenantCallBudgetInterceptor implements NestInterceptor {
  /** One budget for the whole operator (a provider of the app module), whichever module's routes use this. */
  constructor(private readonly budget: TenantCallBudget) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const caller = http.getRequest<{ callerVm?: VmRecord }>().callerVm;
    // Only behind VmAuthGuard: a route without it is a programming error, not a client's.
    if (!caller) throw new Error('TenantCallBudgetInterceptor used on a route without VmAuthGuard');
    const refusal = this.budget.take(caller.tenant);
    if (refusal) refuseOverBudget(http.getResponse<Response>(), caller.tenant, refusal);
    return next.handle().pipe(finalize(() => this.budget.done(caller.tenant)));
  }
}
