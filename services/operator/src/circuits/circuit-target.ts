import { ID_PATTERN } from '@tenantlab/shared';
import { SERVICE_NAME_PATTERN } from './circuit-policy';

const unanchored = (pattern: RegExp): string => pattern.source.replace(/^\^|\$$/g, '');

/** `<service>` or `<vm-id>/<service>`; service names never contain `/`. */
export const TARGET_PATTERN = new RegExp(`^(?:${unanchored(ID_PATTERN)}/)?${unanchored(SERVICE_NAME_PATTERN)}$`);

export interface CircuitTarget {
  /** Set when the caller named the listening VM. */
  vm?: string;
  service: string;
}

/** Splits a target that matched TARGET_PATTERN (the DTO checks that at the edge). */
export function parseTarget(target: string): CircuitTarget {
  const slash = target.indexOf('/');
  return slash < 0 ? { service: target } : { vm: target.slice(0, slash), service: target.slice(slash + 1) };
}
