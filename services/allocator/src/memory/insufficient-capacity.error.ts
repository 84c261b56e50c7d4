import { DomainError } from '@tenantlab/shared';

/**
 * A valid program does not fit what the switch has left. HTTP 409: the request is fine, the switch's state is in
 * the way; it fits once other tenants' programs shrink or leave, or when the tenant asks for less. Not retriable:
 * trying the same program again changes nothing by itself.
 */
export class InsufficientCapacityError extends DomainError {
  /** Each resource that is short, and by how much. */
  readonly shortages: readonly string[];

  constructor(tenant: string, program: string, shortages: readonly string[]) {
    super(
      'INSUFFICIENT_CAPACITY',
      `program ${program} of tenant ${tenant} does not fit the switch: ${shortages.join('; ')}. ` +
        'Submit a program that asks for less (smaller tables or registers, fewer ops), or wait until other ' +
        "tenants' programs are removed; the running pipeline is unchanged.",
    );
    this.shortages = shortages;
  }
}
