import { validateProgram } from '@tenantlab/shared';
import { type CompiledProgram, compileProgram, RegisterMemory } from '../programs';

/** The smallest quota the counting program fits. */
const COUNTING_QUOTA = {
  tables: 1,
  tableEntries: 1,
  registerBits: 0,
  counters: 1,
  actionOpsPerPacket: 1,
  headerBytes: 0,
};

/** A tenant's program that bumps one counter per frame and lets the frame go on: a program with a cost, no effect. */
export function countingProgram(tenant: string, vms: string[]): CompiledProgram {
  return compileProgram(
    validateProgram(
      {
        name: 'count',
        version: 1,
        counters: [{ name: 'frames', size: 1, kind: 'packets' }],
        actions: [{ name: 'count', ops: [{ op: 'counter.count', counter: 'frames', index: { const: 0 } }] }],
        tables: [{ name: 'all', key: [], actions: ['count'], defaultAction: { action: 'count' }, size: 0 }],
        control: [{ table: 'all' }],
      },
      { tenant, vms, quota: COUNTING_QUOTA },
    ),
    {},
    new RegisterMemory(1, 1),
    { mirror: () => undefined, report: () => undefined },
  );
}
