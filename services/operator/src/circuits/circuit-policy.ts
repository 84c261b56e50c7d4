import { ID_PATTERN } from '@tenantlab/shared';

/** A service name as listeners register it: `db:5432`, `metrics.v2`, `cache`. */
export const SERVICE_NAME_PATTERN = /^[a-z0-9._:-]{1,100}$/;

export const SERVICE_NAME_RULE = 'must be 1-100 characters of a-z, 0-9 and . _ : -';

/** Lets VMs of tenant `from` connect to service `service` of tenant `to`. There are no wildcards. */
export interface CircuitPolicyRule {
  from: string;
  to: string;
  service: string;
}

export interface PolicyDecision {
  allowed: boolean;
  /** Why, in words a tenant can act on. */
  reason: string;
}

/**
 * Seed 001: policy is checked once, when a circuit is set up (nothing on the data path). A tenant may always
 * connect to its own services; across tenants only a rule naming both tenants and the exact service allows it.
 */
export function evaluatePolicy(
  rules: readonly CircuitPolicyRule[],
  from: string,
  to: string,
  service: string,
): PolicyDecision {
  if (from === to) return { allowed: true, reason: `${from} connects to its own service ${service}` };
  const allowed = rules.some((rule) => rule.from === from && rule.to === to && rule.service === service);
  return allowed
    ? { allowed: true, reason: `a CIRCUIT_POLICY rule lets ${from} connect to ${to}'s service ${service}` }
    : { allowed: false, reason: `${from} may not connect to ${to}'s service ${service}: no rule allows it` };
}

/** Validates CIRCUIT_POLICY's parsed JSON; undefined when it is not an array of well-formed rules. */
export function parseCircuitPolicy(value: unknown): CircuitPolicyRule[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const rules: CircuitPolicyRule[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
    const { from, to, service, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length > 0) return undefined;
    if (typeof from !== 'string' || !ID_PATTERN.test(from)) return undefined;
    if (typeof to !== 'string' || !ID_PATTERN.test(to)) return undefined;
    if (typeof service !== 'string' || !SERVICE_NAME_PATTERN.test(service)) return undefined;
    rules.push({ from, to, service });
  }
  return rules;
}
