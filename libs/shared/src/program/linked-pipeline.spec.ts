import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLinkedPipeline } from './linked-pipeline';

const program = { tenant: 'tenant-a', program: { name: 'p', version: 1 }, resources: {} };
const good = { version: 3, createdAt: '2026-11-22T00:00:00.000Z', tenants: { 'tenant-a': { program, pageTable: {} } } };

describe('parseLinkedPipeline', () => {
  it('reads a stored pipeline back', () => {
    assert.deepEqual(parseLinkedPipeline(JSON.stringify(good)), good);
    assert.equal(parseLinkedPipeline('{"version":1,"createdAt":"x","tenants":{}}').version, 1);
  });

  it('says what is wrong with a value that is not one', () => {
    const cases: [string, RegExp][] = [
      ['{"version": 2, "tenants": ', /not JSON/],
      ['[1, 2]', /malformed: not an object/],
      ['{"version": 0, "tenants": {}}', /version must be a whole number from 1/],
      ['{"version": 1.5, "tenants": {}}', /version must be/],
      ['{"version": 1}', /tenants must be an object/],
      ['{"version": 1, "tenants": {"tenant-a": 7}}', /tenants\.tenant-a must be an object/],
      [
        JSON.stringify({ ...good, tenants: { 'tenant-b': { program, pageTable: {} } } }),
        /tenants\.tenant-b\.program must be that tenant's validated program/,
      ],
      [JSON.stringify({ ...good, tenants: { 'tenant-a': { program } } }), /tenants\.tenant-a\.pageTable/],
    ];
    for (const [raw, expected] of cases) assert.throws(() => parseLinkedPipeline(raw), expected, raw);
  });
});
