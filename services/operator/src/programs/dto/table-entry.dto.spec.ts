import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createValidationPipe, ValidationError } from '@tenantlab/shared';
import { TableEntryDto } from './table-entry.dto';

/** Runs a body through the same pipe as the HTTP API and returns the problems it names. */
async function problems(body: unknown): Promise<string[]> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype: TableEntryDto });
    return [];
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.details;
  }
}

describe('TableEntryDto', () => {
  it('takes key values and masks as numbers, decimal or 0x strings, dotted IPv4 addresses and MACs with colons', async () => {
    const entry = (value: unknown, mask?: unknown) => ({
      key: [{ value, ...(mask === undefined ? {} : { mask }) }],
      action: 'allow',
    });
    for (const body of [
      entry(6),
      entry('167772161'),
      entry('0x0a000001'),
      entry('10.0.0.1', '255.255.255.0'),
      entry('02:00:00:00:00:01'),
    ]) {
      assert.deepEqual(await problems(body), [], JSON.stringify(body));
    }
    for (const value of ['10.0.0.256', '10.0.0', '010.0.0.1', 'ten', -1, '02:00:00:00:00', '02-00-00-00-00-01']) {
      const found = await problems(entry(value));
      assert.equal(found.length, 1, `${String(value)}: ${found.join('; ')}`);
      assert.match(
        found[0] ?? '',
        /^key\.0\.value: must be an unsigned integer .*"10\.0\.0\.1" \(ipv4\.src, ipv4\.dst\), "02:00:00:00:00:01" \(eth\.src, eth\.dst\)$/,
      );
    }
  });
});
