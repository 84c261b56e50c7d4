import { QuotaExceededError } from '../circuits/circuit.errors';
import type { OperatorConfig } from '../config/operator.config';

/** The limits of TenantCallBudget (the operator's TENANT_CONTROL_CALLS_* settings). */
export interface TenantCallLimits {
  perSecond: number;
  burst: number;
  inFlight: number;
}

/** Why a call was refused, and when the tenant may try again. */
export interface CallRefusal {
  reason: string;
  retryAfterSeconds: number;
}

interface TenantCalls {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms. */
  at: number;
  inFlight: number;
}

/**
 * Each tenant's budget of calls the operator forwards to the trusted services on its behalf: a token bucket
 * (`perSecond`, at most `burst` saved up) and at most `inFlight` being answered at once. Per tenant, not per VM, so a
 * tenant's VM count does not multiply it. Why: the switch answers them on the event loop that moves every tenant's
 * frames, and 32 calls kept in flight by one VM raised another tenant's one-way p99 from 31 ms to 195 ms (attacks
 * tier, before this budget).
 */
export class TenantCallBudget {
  private readonly tenants = new Map<string, TenantCalls>();

  constructor(
    private readonly limits: TenantCallLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes a call for `tenant`, or says why not; a call taken must be given back with `done`. */
  take(tenant: string): CallRefusal | undefined {
    const refusal = this.refusalFor(tenant);
    if (refusal) return refusal;
    const calls = this.refilled(tenant);
    calls.tokens -= 1;
    calls.inFlight += 1;
    return undefined;
  }

  /** Why a call of `tenant` would be refused now, taking nothing; undefined when `take` would admit it. */
  refusalFor(tenant: string): CallRefusal | undefined {
    const calls = this.refilled(tenant);
    if (calls.inFlight >= this.limits.inFlight) {
      return {
        reason: `${calls.inFlight} of its calls are being answered (at most ${this.limits.inFlight})`,
        retryAfterSeconds: 1,
      };
    }
    if (calls.tokens < 1) {
      return {
        reason: `it made more than ${this.limits.perSecond} calls a second (${this.limits.burst} at once after a quiet spell)`,
        retryAfterSeconds: Math.max(1, Math.ceil((1 - calls.tokens) / this.limits.perSecond)),
      };
    }
    return undefined;
  }

  done(tenant: string): void {
    const calls = this.tenants.get(tenant);
    if (calls && calls.inFlight > 0) calls.inFlight -= 1;
  }

  private refilled(tenant: string): TenantCalls {
    const now = this.now();
    const calls = this.tenants.get(tenant) ?? { tokens: this.limits.burst, at: now, inFlight: 0 };
    calls.tokens = Math.min(this.limits.burst, calls.tokens + ((now - calls.at) / 1000) * this.limits.perSecond);
    calls.at = now;
    this.tenants.set(tenant, calls);
    return calls;
  }
}

/** The operator's budget from its settings. */
export function tenantCallBudgetOf(
  config: Pick<
    OperatorConfig,
    'TENANT_CONTROL_CALLS_PER_SECOND' | 'TENANT_CONTROL_CALLS_BURST' | 'TENANT_CONTROL_CALLS_IN_FLIGHT'
  >,
): TenantCallBudget {
  return new TenantCallBudget({
    perSecond: config.TENANT_CONTROL_CALLS_PER_SECOND,
    burst: config.TENANT_CONTROL_CALLS_BURST,
    inFlight: config.TENANT_CONTROL_CALLS_IN_FLIGHT,
  });
}

/**
 * Refuses a call of `tenant` over its budget: sets Retry-After on `response` and throws the 429 naming the settings.
 */
export function refuseOverBudget(
  response: { setHeader(name: string, value: string): unknown },
  tenant: string,
  refusal: CallRefusal,
): never {
  response.setHeader('retry-after', String(refusal.retryAfterSeconds));
  throw new QuotaExceededError(
    `tenant ${tenant} is over its budget of calls to the switch, allocator and telemetry: ${refusal.reason} ` +
      '(TENANT_CONTROL_CALLS_PER_SECOND, _BURST, _IN_FLIGHT); try again after Retry-After seconds',
    { retriable: true },
  );
}
