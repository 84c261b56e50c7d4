import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { remoteError } from './remote-error';

const reply = (status: number, error: Record<string, unknown>) => ({ status, body: { error } });

describe('remoteError', () => {
  it("passes the allocator's QUOTA_EXCEEDED (too many changes waiting) through to the tenant, retriable", () => {
    const message = 'tenant tenant-a already has 4 pipeline changes waiting for their turn; try again once one is done';
    const error = remoteError(
      'allocator',
      'PUT /program',
      reply(429, { code: 'QUOTA_EXCEEDED', message, retriable: true }),
    );
    assert.equal(error.code, 'QUOTA_EXCEEDED');
    assert.equal(error.message, message);
    assert.equal(error.retriable, true);
  });

  it('answers a code it does not pass through as the dependency failing, naming the service and the code', () => {
    const error = remoteError('allocator', 'PUT /program', reply(418, { code: 'TEAPOT', message: 'short and stout' }));
    assert.equal(error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.match(error.message, /^the allocator answered PUT \/program with HTTP 418 \(TEAPOT: short and stout\)/);
  });
});
