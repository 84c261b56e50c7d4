import { readFileSync } from 'node:fs';
import { ID_PATTERN, ValidationError } from '@tenantlab/shared';

/** Per-tenant caps over the operator's defaults (issue 10); the operator checks their ranges. */
export interface TenantCapsOverrides {
  maxVms?: number;
  maxCircuits?: number;
  maxPrograms?: number;
  ringBytes?: number;
  vmRingBytes?: number;
  ringEntries?: number;
  vmRingEntries?: number;
}

const CAP_NAMES = ['maxVms', 'maxCircuits', 'maxPrograms', 'ringBytes', 'vmRingBytes', 'ringEntries', 'vmRingEntries'];

export interface LabDefinition {
  name: string;
  /** The lab's tenants: the only ones the operator knows at start (more only through its admin API). */
  tenants: { id: string; vms: string[]; caps?: TenantCapsOverrides }[];
  /** The operator's CIRCUIT_POLICY rules (a scenario's tenants[].allow); none: circuits only within a tenant. */
  circuitPolicy?: { from: string; to: string; service: string }[];
  /** More of the switch's environment (a scenario's `switch` settings, such as PROGRAM_CPU_NS_PER_SECOND). */
  switchEnv?: Record<string, string>;
  /** More of the allocator's environment (a scenario's `allocator` settings, such as ALLOCATOR_REALLOCATION). */
  allocatorEnv?: Record<string, string>;
}

/** A lab file is user input: every problem is reported with its path, all at once. */
export function parseLabDefinition(json: unknown, source: string): LabDefinition {
  const problems: string[] = [];
  const doc = json as Partial<LabDefinition> | null;
  if (typeof doc !== 'object' || doc === null) throw new ValidationError(`${source}: expected a JSON object`);
  if (typeof doc.name !== 'string' || !ID_PATTERN.test(doc.name)) problems.push('name: expected an id such as default');
  if (!Array.isArray(doc.tenants) || doc.tenants.length === 0) problems.push('tenants: expected a non-empty array');
  const seenVms = new Set<string>();
  const seenTenants = new Set<string>();
  (Array.isArray(doc.tenants) ? doc.tenants : []).forEach((tenant, t) => {
    if (typeof tenant?.id !== 'string' || !ID_PATTERN.test(tenant.id)) {
      problems.push(`tenants[${t}].id: expected an id of a-z, 0-9 and -`);
    } else if (seenTenants.has(tenant.id)) problems.push(`tenants[${t}].id: duplicate tenant ${tenant.id}`);
    else seenTenants.add(tenant.id);
    const caps: unknown = tenant?.caps;
    if (caps !== undefined) {
      if (typeof caps !== 'object' || caps === null || Array.isArray(caps)) {
        problems.push(`tenants[${t}].caps: expected an object of caps (${CAP_NAMES.join(', ')})`);
      } else {
        for (const [name, value] of Object.entries(caps)) {
          if (!CAP_NAMES.includes(name)) problems.push(`tenants[${t}].caps.${name}: unknown cap`);
          else if (!Number.isSafeInteger(value) || (value as number) < 0) {
            problems.push(`tenants[${t}].caps.${name}: expected a non-negative integer`);
          }
        }
      }
    }
    if (!Array.isArray(tenant?.vms)) {
      problems.push(`tenants[${t}].vms: expected an array of VM ids`);
      return;
    }
    tenant.vms.forEach((vm, v) => {
      if (typeof vm !== 'string' || !ID_PATTERN.test(vm)) problems.push(`tenants[${t}].vms[${v}]: expected a VM id`);
      else if (seenVms.has(vm)) problems.push(`tenants[${t}].vms[${v}]: duplicate VM ${vm}`);
      else seenVms.add(vm);
    });
  });
  if (problems.length > 0) throw new ValidationError(`${source} is invalid: ${problems.join('; ')}`, problems);
  return doc as LabDefinition;
}

export function readLabDefinition(path: string): LabDefinition {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read lab file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`lab file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseLabDefinition(json, path);
}
