import { DomainError } from '@tenantlab/shared';

/** The limits of PartyAdmission (the operator's TENANT_OPERATOR_CALLS_* settings). */
export interface PartyLimits {
  /** Calls of one party being answered at once. */
  inFlight: number;
  /** Calls of one party waiting for one of those places; past this a call is refused. */
  waiting: number;
}

/** A party has as many calls waiting as it may: 429, retriable. */
export class CallsWaitingError extends DomainError {
  constructor(party: string, limits: PartyLimits) {
    super(
      'QUOTA_EXCEEDED',
      `${party} has ${limits.inFlight} calls being answered by the operator and ${limits.waiting} more waiting ` +
        '(TENANT_OPERATOR_CALLS_IN_FLIGHT, TENANT_OPERATOR_CALLS_WAITING); try again once one is answered',
      { retriable: true },
    );
  }
}

/** Gives back a place a call was admitted to. Calling it more than once gives it back once. */
export type Release = () => void;

interface PartyCalls {
  running: number;
  waiting: (() => void)[];
}

/**
 * Admits each party's calls to the operator at most `inFlight` at a time, the rest waiting their turn in arrival
 * order, and refuses a call when `waiting` of its party wait already. A party is a tenant (or, for calls whose
 * tenant is not known yet, the address they come from).
 *
 * Why: the operator is one process on one event loop, shared by every tenant. One VM keeping 32 calls in flight
 * (GET /circuits, say) made another tenant's echo, which takes a few operator calls, go from 17-25 ms to 200 ms at
 * the median: each of the victim's calls queued behind 32 of the attacker's at every Redis round trip. A waiting
 * call costs the operator nothing, so a flood now competes with others with `inFlight` calls' worth of work. It is
 * held, not refused, up to `waiting`: refusals an attacker repeats as fast as the operator answers them would cost
 * the operator nearly as much as answering.
 */
export class PartyAdmission {
  private readonly parties = new Map<string, PartyCalls>();

  constructor(private readonly limits: PartyLimits) {}

  /** Resolves once `party` may run a call, with the function that gives the place back; rejects past the cap. */
  admit(party: string): Promise<Release> {
    const calls = this.parties.get(party) ?? { running: 0, waiting: [] };
    this.parties.set(party, calls);
    if (calls.running < this.limits.inFlight) {
      calls.running += 1;
      return Promise.resolve(this.releaseOf(party, calls));
    }
    if (calls.waiting.length >= this.limits.waiting) {
      return Promise.reject(new CallsWaitingError(party, this.limits));
    }
    return new Promise((resolve) => calls.waiting.push(() => resolve(this.releaseOf(party, calls))));
  }

  /** Parties with a call running or waiting, with their counts (for status and tests). */
  snapshot(): Record<string, { running: number; waiting: number }> {
    return Object.fromEntries(
      [...this.parties].map(([party, calls]) => [party, { running: calls.running, waiting: calls.waiting.length }]),
    );
  }

  private releaseOf(party: string, calls: PartyCalls): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = calls.waiting.shift();
      // The place passes straight to the next waiting call of the same party, so `running` stays as it is.
      if (next) return next();
      calls.running -= 1;
      if (calls.running === 0) this.parties.delete(party);
    };
  }
}
