import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createValidationPipe, ValidationError } from '@tenantlab/shared';
import { GenerateTrafficDto } from './generate-traffic.dto';

/** Runs a body through the same pipe as the HTTP API and returns the problems it names. */
async function problems(body: unknown): Promise<string[]> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype: GenerateTrafficDto });
    return [];
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.details;
  }
}

describe('GenerateTrafficDto', () => {
  it('accepts a full request and a minimal one', async () => {
    assert.deepEqual(await problems({ to: ['vm-b'], protocol: 'udp', count: 1, size: 64 }), []);
    assert.deepEqual(
      await problems({
        to: ['vm-b', 'vm-c'],
        protocol: 'tcp',
        count: 1_000_000,
        size: 1500,
        ratePps: 1000,
        batch: 512,
        flows: 55_536,
        zipf: 0.9,
        seed: 0xffffffff,
      }),
      [],
    );
  });

  it('names each bad field', async () => {
    const found = await problems({
      to: ['vm-b', 'Not An Id'],
      protocol: 'icmp',
      count: 0,
      size: 1501,
      ratePps: 0,
      batch: 513,
      flows: 55_537,
      zipf: 0,
      seed: -1,
      extra: true,
    });
    for (const field of ['to', 'protocol', 'count', 'size', 'ratePps', 'batch', 'flows', 'zipf', 'seed', 'extra']) {
      assert.ok(
        found.some((problem) => problem.startsWith(`${field}: `)),
        `${field} named in ${found.join('; ')}`,
      );
    }
    assert.ok((await problems({ protocol: 'udp', count: 1, size: 64, to: [] })).some((p) => p.startsWith('to: ')));
  });
});
