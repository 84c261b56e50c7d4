import { randomBytes } from 'node:crypto';

export interface TestRegister {
  name: string;
  width: number;
  size: number;
}

/**
 * A small valid program document: one table of `tableEntries` entries whose action adds to each register and then
 * pads with `mirror` ops up to `ops` ops per packet (at least one op per register).
 */
export function testProgram(
  name: string,
  registers: TestRegister[],
  options: { tableEntries?: number; ops?: number; version?: number } = {},
): Record<string, unknown> {
  const ops: unknown[] = registers.map((register) => ({
    op: 'register.add',
    register: register.name,
    index: { field: 'ipv4.src' },
    value: { const: 1 },
  }));
  while (ops.length < (options.ops ?? 1)) ops.push({ op: 'mirror' });
  return {
    name,
    version: options.version ?? 1,
    registers,
    actions: [{ name: 'work', ops }],
    tables: [
      {
        name: 'flows',
        key: [{ field: 'ipv4.dst', match: 'exact' }],
        actions: ['work'],
        defaultAction: { action: 'work' },
        size: options.tableEntries ?? 16,
      },
    ],
    control: [{ table: 'flows' }],
  };
}

/** Unique per call, so tests never share tenants (ids: a-z, 0-9 and -). */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
